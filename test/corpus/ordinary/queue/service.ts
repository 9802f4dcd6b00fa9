// A job queue: ids from a counter in the state, timestamps from the clock (replayed under repeat),
// a private helper that changes the element it is given, results collected into local arrays.
import { state } from 'durability-compiler';

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface Job {
  id: number;
  kind: string;
  payload: string;
  state: JobState;
  attempts: number;
  updatedAt: number;
}

export class JobQueue {
  private jobs: Job[] = [];
  private nextId = 1;

  enqueue(kind: string, payload: string): number {
    const job: Job = { id: this.nextId++, kind, payload, state: 'queued', attempts: 0, updatedAt: Date.now() };
    this.jobs.push(job);
    return job.id;
  }

  claim(kind?: string): Job | undefined {
    const job = this.jobs.find((j) => j.state === 'queued' && (kind === undefined || j.kind === kind));
    if (!job) return undefined;
    this.move(job, 'running');
    job.attempts++;
    return { ...job };
  }

  finish(id: number, ok: boolean): void {
    const job = this.jobs.find((j) => j.id === id);
    if (job?.state !== 'running') throw new Error(`job ${id} is not running`);
    this.move(job, ok ? 'done' : 'failed');
  }

  retryFailed(): number {
    const failed = this.jobs.filter((j) => j.state === 'failed');
    for (const job of failed) this.move(job, 'queued');
    return failed.length;
  }

  purge(): number {
    const before = this.jobs.length;
    this.jobs = this.jobs.filter((j) => j.state !== 'done');
    return before - this.jobs.length;
  }

  counts(): Record<JobState, number> {
    const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const job of this.jobs) counts[job.state]++;
    return counts;
  }

  pending(): Job[] {
    const out: Job[] = [];
    for (const job of this.jobs) if (job.state === 'queued') out.push({ ...job });
    return out;
  }

  private move(job: Job, to: JobState): void {
    job.state = to;
    job.updatedAt = Date.now();
  }
}

export class QueueService {
  @state queue = new JobQueue();

  submit(kind: string, payload: string): number {
    return this.queue.enqueue(kind, payload);
  }

  next(kind?: string): Job | null {
    return this.queue.claim(kind) ?? null;
  }

  complete(id: number, ok: boolean): void {
    this.queue.finish(id, ok);
  }

  maintenance(): { retried: number; purged: number } {
    return { retried: this.queue.retryFailed(), purged: this.queue.purge() };
  }

  stats(): Record<JobState, number> {
    return this.queue.counts();
  }
}
