// One atomic action's record of what it changed (a request, or all the requests of a transaction),
// shared by every state object it reaches: one chronological log, so undo and shipping see changes in
// the order they happened whichever state objects they touched.
import type { Change, TypedArray } from './changes.js';

export class ActionContext {
  /** Every change, oldest first. */
  readonly log: Change[] = [];
  /**
   * Why the run-time refused this action (a write no mapping makes durable, a value it cannot record): set
   * at the first refusal, so the request fails even if the service caught the error thrown at it.
   */
  refusal: Error | undefined;
  /**
   * Objects that joined a state graph for the first time during the current request, in that order. The
   * code that made them holds them raw, so reads hand them out raw too (one identity per object inside
   * the request); what they hold is reconciled when the request ends.
   */
  readonly fresh: object[] = [];
  readonly isFresh = new Set<object>();
  /** Typed arrays of state read in this request, with their bytes as last compared (see StateGraph.image). */
  readonly images = new Map<TypedArray, TypedArray>();
  /** Objects that joined a state object while another held them (see StateGraph.checkSharing). */
  readonly shared: object[] = [];
  /** The children each fresh object had when it joined, as counted (see StateGraph.reconcile). */
  readonly counted = new Map<object, unknown[]>();
  /** Where each target's order was saved in the log. */
  private readonly orderSaved = new WeakMap<object, number>();
  /** An order saved before this position does not cover later deletes (a savepoint begins here). */
  floor = 0;

  constructor(readonly id: number) {}

  /** Whether `target`'s order is saved in the log since the floor, so a delete from it can be undone in place. */
  orderSavedFor(target: object): boolean {
    const at = this.orderSaved.get(target);
    if (at === undefined || at < this.floor || at >= this.log.length) return false;
    const entry = this.log[at]!;
    return entry.kind === 'order' && entry.target === target;
  }

  markOrderSaved(target: object, at: number): void {
    this.orderSaved.set(target, at);
  }

  markFresh(object: object, children: unknown[]): void {
    this.fresh.push(object);
    this.isFresh.add(object);
    this.counted.set(object, children);
  }

  /** The request ended: its fresh objects are ordinary state from now on. */
  endRequest(): void {
    this.images.clear();
    this.fresh.length = 0;
    this.isFresh.clear();
    this.counted.clear();
  }
}
