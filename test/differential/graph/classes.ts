// The state classes of the graph universe: ordinary TypeScript, as a user writes them. Each starts
// small and plain (a start-up that fails would hide everything else); the sequences bring in the rest.
// Their methods take steps as data and run them on `this`, so `update="repeat"` re-runs the same
// step on a backup; `pick` and `adopt` let service code share an object between two state objects.
import { InjectedFailure, Item } from './item.js';
import { pick, reach } from './reach.js';
import { runStep, type Step } from './steps.js';
import { keyOf } from './values.js';

export class Store {
  obj: Record<PropertyKey, unknown> = { a: 1, nested: { b: 2 } };
  list: unknown[] = [1, 'two', { three: 3 }];
  map = new Map<unknown, unknown>([
    ['k', 1],
    ['o', { v: 1 }],
  ]);
  set = new Set<unknown>(['s', 2]);
  when = new Date(1_000);
  item = new Item();

  /** The state object's field name in the service: where paths in reproductions start. */
  protected get fieldName(): string {
    return 'store';
  }

  apply(step: Step): unknown {
    return runStep(this, step, { name: this.fieldName });
  }

  /** Does the step, then fails: the partial work of a state method that throws. */
  applyThenFail(step: Step): never {
    runStep(this, step, { name: this.fieldName });
    throw new InjectedFailure(`${this.fieldName} failed after ${step.op}`);
  }

  /** The `at`-th object reachable from here, for service code that hands it to another state object. */
  pick(at: number): unknown {
    return pick(reach(this, this.fieldName), 'any', at)?.value;
  }

  adopt(key: string, value: unknown): void {
    this.obj[keyOf(key)] = value;
  }
}

/** The second state object: a subclass, so inheritance is part of the universe too. */
export class Shelf extends Store {
  override obj: Record<PropertyKey, unknown> = { c: 3 };
  override list: unknown[] = [];
  override map = new Map<unknown, unknown>();

  protected override get fieldName(): string {
    return 'shelf';
  }
}
