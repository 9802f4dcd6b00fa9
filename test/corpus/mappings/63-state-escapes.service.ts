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
}
