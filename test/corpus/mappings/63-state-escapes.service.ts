import { state } from 'durability-compiler';

export class Queue {
  items: string[] = [];
  add(item: string): void {
    this.items.push(item);
  }
}

let lastSeen: string[] | undefined;

export class QueueService {
  @state queue = new Queue();
  latest: string[] = [];

  add(item: string): void {
    this.queue.add(item);
    lastSeen = this.queue.items;
    this.latest = this.queue.items;
  }

  peek(): string[] | undefined {
    return lastSeen;
  }

  // Numbers and strings read from state, and a copy of an array of strings, hold nothing of it: fine.
  remember(): void {
    lastCount = this.queue.items.length;
    lastFirst = this.queue.items[0] ?? '';
    this.latest = [...this.queue.items];
  }
}

let lastCount = 0;
let lastFirst = '';
export const remembered = () => `${lastCount} ${lastFirst}`;
