// A token-bucket rate limiter: clock readings (replayed under repeat) and jitter from Math.random.
import { state } from 'durability-compiler';

interface Bucket {
  tokens: number;
  refilledAt: number;
}

export class Buckets {
  private buckets: Record<string, Bucket> = {};

  constructor(
    private readonly capacity = 10,
    private readonly perSecond = 5,
  ) {}

  take(client: string, cost = 1): boolean {
    const bucket = (this.buckets[client] ??= { tokens: this.capacity, refilledAt: performance.now() });
    this.refill(bucket);
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }

  penalize(client: string): number {
    const bucket = this.buckets[client];
    if (!bucket) return 0;
    const penalty = Math.ceil(Math.random() * 3);
    bucket.tokens = Math.max(0, bucket.tokens - penalty);
    return penalty;
  }

  forget(client: string): void {
    delete this.buckets[client];
  }

  private refill(bucket: Bucket): void {
    const now = performance.now();
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.refilledAt) / 1000) * this.perSecond);
    bucket.refilledAt = now;
  }
}

export class LimiterService {
  @state buckets = new Buckets();

  allow(client: string): boolean {
    return this.buckets.take(client);
  }

  abuse(client: string): number {
    return this.buckets.penalize(client);
  }

  reset(client: string): void {
    this.buckets.forget(client);
  }
}
