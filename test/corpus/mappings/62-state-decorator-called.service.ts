import { state } from 'durability-compiler';

export class Box {
  value = 0;
  put(value: number): void {
    this.value = value;
  }
}

export class BoxService {
  // @ts-expect-error: @state is a decorator, not a factory
  @state() box = new Box();
}
