// A class held inside state: a getter and a setter on the class (the setter checks its value and
// throws, so a set step can fail halfway through a request), and a method that updates.
export class Item {
  count = 0;
  private _label = 'item';

  get label(): string {
    return this._label;
  }

  set label(value: string) {
    if (typeof value !== 'string') throw new TypeError(`Item.label must be a string, not ${value === null ? 'null' : typeof value}`);
    this._label = value;
  }

  bump(): number {
    return ++this.count;
  }
}

/** What the universe's injected failures throw: compared by class name and message on both sides. */
export class InjectedFailure extends Error {}
