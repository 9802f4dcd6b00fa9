// A scheduler: events kept sorted with a search helper from another module that only reads.
import { state } from 'durability-compiler';
import { insertionIndex } from './search.js';

export interface Slot {
  at: number;
  title: string;
}

export class Calendar {
  private slots: Slot[] = [];

  book(at: number, title: string): number {
    if (this.slots.some((s) => s.at === at)) throw new Error(`${at} is taken`);
    const slot = { at, title };
    const index = insertionIndex(this.slots, slot, (s) => s.at);
    this.slots.splice(index, 0, slot);
    return index;
  }

  cancel(at: number): boolean {
    const index = this.slots.findIndex((s) => s.at === at);
    if (index < 0) return false;
    this.slots.splice(index, 1);
    return true;
  }

  between(from: number, to: number): Slot[] {
    return this.slots.filter((s) => s.at >= from && s.at < to).map((s) => ({ ...s }));
  }
}

export class SchedulerService {
  @state calendar = new Calendar();

  book(at: number, title: string): number {
    return this.calendar.book(at, title);
  }

  cancel(at: number): boolean {
    return this.calendar.cancel(at);
  }

  day(start: number): Slot[] {
    return this.calendar.between(start, start + 86_400_000);
  }
}
