// Request latency per method and outcome, as fixed-bucket histograms (Prometheus's own shape): a request
// costs one binary search over the bounds and one increment, and histograms add up across nodes and time,
// which percentiles over a window do not.

/** Upper bounds of the buckets, in seconds: from 100 µs (a replicated write on loopback) to 10 s. */
const BUCKET_BOUNDS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class LatencyHistogram {
  /** counts[i]: observations in bucket i alone (the last bucket: above every bound). */
  readonly counts = new Array<number>(BUCKET_BOUNDS_SECONDS.length + 1).fill(0);
  count = 0;
  sumSeconds = 0;

  observe(seconds: number): void {
    let low = 0;
    let high = BUCKET_BOUNDS_SECONDS.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (seconds <= BUCKET_BOUNDS_SECONDS[mid]!) high = mid;
      else low = mid + 1;
    }
    this.counts[low]!++;
    this.count++;
    this.sumSeconds += seconds;
  }

  /** Cumulative counts per bound, `+Inf` last, as the text format writes them. */
  cumulative(): [le: string, count: number][] {
    let running = 0;
    return this.counts.map((n, i) => [i < BUCKET_BOUNDS_SECONDS.length ? String(BUCKET_BOUNDS_SECONDS[i]) : '+Inf', (running += n)]);
  }

  /** The bound below which a fraction `q` of the observations fall (the bucket's upper bound; Infinity past the last). */
  quantileBound(q: number): number {
    const rank = q * this.count;
    let running = 0;
    for (const [i, n] of this.counts.entries()) {
      running += n;
      if (running >= rank && n > 0) return BUCKET_BOUNDS_SECONDS[i] ?? Infinity;
    }
    return 0;
  }
}

/** One histogram per (method, outcome); methods the service does not have share one label. */
export class RequestHistograms {
  readonly byKey = new Map<string, { method: string; outcome: string; histogram: LatencyHistogram }>();

  observe(method: string, outcome: string, seconds: number): void {
    const key = `${method}\u0000${outcome}`;
    let entry = this.byKey.get(key);
    if (!entry) this.byKey.set(key, (entry = { method, outcome, histogram: new LatencyHistogram() }));
    entry.histogram.observe(seconds);
  }

  /** For the JSON /metrics: per method, per outcome, the count, mean and the p50/p99 bucket bounds (ms). */
  summary(): Record<string, Record<string, { count: number; meanMs: number; p50UpToMs: number; p99UpToMs: number }>> {
    const out: Record<string, Record<string, { count: number; meanMs: number; p50UpToMs: number; p99UpToMs: number }>> = {};
    for (const { method, outcome, histogram: h } of this.byKey.values()) {
      (out[method] ??= {})[outcome] = { count: h.count, meanMs: (h.sumSeconds / h.count) * 1000, p50UpToMs: h.quantileBound(0.5) * 1000, p99UpToMs: h.quantileBound(0.99) * 1000 };
    }
    return out;
  }
}
