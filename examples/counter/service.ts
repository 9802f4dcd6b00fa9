// The Counter service of Chapter IV.D.1: one operation, `add`, that increments the counter and returns the
// new value. Its one state object, Counter, has an update method (setValue) and a read method (getValue).
import { state } from 'durability-compiler';

export class Counter {
  private value = 0;

  setValue(value: number): void {
    this.value = value;
  }

  getValue(): number {
    return this.value;
  }
}

export class CounterService {
  @state counter = new Counter();

  add(): number {
    const next = this.counter.getValue() + 1;
    this.counter.setValue(next);
    return next;
  }

  get(): number {
    return this.counter.getValue();
  }
}
