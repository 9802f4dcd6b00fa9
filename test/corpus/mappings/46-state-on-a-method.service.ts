import { state } from 'durability-compiler';

export class Clock {
  ticks = 0;
}

export class ClockService {
  @state clock = new Clock();

  // @state marks fields, not methods: this does not type-check either.
  // @ts-expect-error
  @state tick(): number {
    return ++this.clock.ticks;
  }
}
