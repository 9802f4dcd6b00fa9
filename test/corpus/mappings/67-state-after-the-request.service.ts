import { state } from 'durability-compiler';
import { EventEmitter } from 'node:events';

export class Log {
  private entries: string[] = [];
  private flushes = 0;

  add(entry: string): void {
    this.entries.push(entry);
  }

  // A state method that schedules work on its own object.
  addSoon(entry: string): void {
    queueMicrotask(() => this.entries.push(entry));
  }

  flush(): number {
    this.flushes++;
    return this.entries.splice(0).length;
  }
}

const bus = new EventEmitter();
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class LogService {
  @state log = new Log();

  later(entry: string): void {
    setTimeout(() => this.log.add(entry), 50);
  }

  onEvent(): void {
    bus.on('entry', (entry: string) => {
      const { log } = this;
      log.add(entry);
    });
  }

  unawaited(entry: string): void {
    void Promise.resolve(entry).then((e) => this.log.add(e));
  }

  viaMethod(): void {
    process.nextTick(() => this.flushNow());
  }

  private flushNow(): number {
    return this.log.flush();
  }

  // These wait for what they start, inside the request: nothing to report.
  async waits(entry: string): Promise<void> {
    await pause(5);
    this.log.add(entry);
  }

  returned(entry: string): Promise<void> {
    return Promise.resolve(entry).then((e) => this.log.add(e));
  }
}
