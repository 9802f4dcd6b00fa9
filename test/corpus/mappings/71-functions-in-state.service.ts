import { state } from 'durability-compiler';

export type Listener = (event: string) => void;

export interface Job {
  name: string;
  run: () => void;
}

export class Hooks {
  private listeners: Listener[] = [];
  private onError?: (error: Error) => void;
  private jobs = new Map<string, Job>();

  subscribe(listener: Listener): void {
    this.listeners.push(listener);
  }

  emit(event: string): void {
    for (const listener of this.listeners) listener(event);
  }

  schedule(name: string, run: () => void): void {
    this.jobs.set(name, { name, run });
    this.onError ??= (error) => console.error(error);
  }
}

export class Outbox {
  private pending: unknown[] = [];

  queue(message: string): void {
    this.pending.push(() => message.toUpperCase());
  }
}

export class EventService {
  @state hooks = new Hooks();
  @state outbox = new Outbox();
  @state local = new Hooks();
}
