// A service whose method leaves a change to state for later, through a scheduler of its own: the change
// runs outside any request, so nothing could make it durable. The run-time refuses it where it is made;
// the node logs that and goes on serving (issue 11 item 9).
import { state } from 'durability-compiler';

export class Log {
  entries: string[] = [];
  add(text: string): void {
    this.entries.push(text);
  }
  size(): number {
    return this.entries.length;
  }
}

const pending: (() => void)[] = [];

function runSoon(): void {
  setTimeout(() => {
    for (const task of pending.splice(0)) task();
  }, 20);
}

export class DeferredService {
  @state log = new Log();

  later(text: string): string {
    pending.push(() => this.log.add(text));
    runSoon();
    return 'scheduled';
  }

  now(text: string): number {
    this.log.add(text);
    return this.log.size();
  }

  size(): number {
    return this.log.size();
  }
}
