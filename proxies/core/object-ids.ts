// Identities of the objects inside one state object's graph, shared by the primary and its backups, so
// that a recorded change names its target ("object #12") rather than a path that a splice may have
// shifted. The primary numbers an object when it is attached to the graph; a backup numbers the same
// objects in the same order when it re-runs a deterministic call, and takes the primary's numbers when it
// applies recorded changes. Objects the graph drops are forgotten through weak references.
export class ObjectIds {
  private readonly ids = new WeakMap<object, number>();
  private readonly objects = new Map<number, WeakRef<object>>();
  private readonly forget = new FinalizationRegistry<number>((id) => {
    if (this.objects.get(id)?.deref() === undefined) this.objects.delete(id);
  });
  /** Numbered here but not yet sent in full to the backups. */
  private readonly unsent = new Set<object>();
  private counter = 1;

  get next(): number {
    return this.counter;
  }

  /** A backup lines its counter up with the primary's before re-running a call. */
  set next(value: number) {
    this.counter = value;
  }

  idOf(object: object): number | undefined {
    return this.ids.get(object);
  }

  objectOf(id: number): object | undefined {
    return this.objects.get(id)?.deref();
  }

  register(object: object, id: number): void {
    this.ids.set(object, id);
    this.objects.set(id, new WeakRef(object));
    this.forget.register(object, id);
    if (id >= this.counter) this.counter = id + 1;
  }

  /** Numbers an object not yet numbered, or returns its number. */
  assign(object: object): number {
    const known = this.ids.get(object);
    if (known !== undefined) return known;
    const id = this.counter++;
    this.register(object, id);
    this.unsent.add(object);
    return id;
  }

  /** Numbers `value` and every object below it not numbered yet, depth first, in a fixed order. */
  assignTree(value: unknown): void {
    if (typeof value !== 'object' || value === null || this.ids.has(value)) return;
    this.assign(value);
    for (const child of children(value)) this.assignTree(child);
  }

  /** Whether the backups already know this object (it must then be sent as a reference). */
  isKnownToReplicas(object: object): boolean {
    return this.ids.has(object) && !this.unsent.has(object);
  }

  markSent(object: object): void {
    this.unsent.delete(object);
  }

  /** The action that sent it aborted: the backups never received it. */
  markUnsent(object: object): void {
    if (this.ids.has(object)) this.unsent.add(object);
  }
}

/** The objects directly inside a value, in the order encoding visits them. */
export function children(value: object): unknown[] {
  if (value instanceof Date) return [];
  if (Array.isArray(value)) return value;
  if (value instanceof Map) return [...value].flat();
  if (value instanceof Set) return [...value];
  return Object.keys(value).map((k) => (value as Record<string, unknown>)[k]);
}
