// The clock the run-time reads and waits on: monotonic milliseconds, sleeps and cancellable timers. In
// production the system's; in the deterministic simulation its virtual time, so that a transaction's
// idle timeout, a conflict's bounded wait or a commit's retry run at the simulation's pace, replayably.
export interface Clock {
  /** Monotonic milliseconds (never goes back). */
  now(): number;
  /** Resolves `ms` from now. */
  sleep(ms: number): Promise<void>;
  /** Runs `run` once, `ms` from now, unless cancelled first. Keeps no process alive. */
  timer(ms: number, run: () => void): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  timer: (ms, run) => {
    const timer = setTimeout(run, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
