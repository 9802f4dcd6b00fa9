// Identities of the objects in the replicated state objects' graphs, shared by the primary and its
// backups, so that a recorded change names its target ("object #12") rather than a path that a splice
// may have shifted. One id space for every replicated state object of a service: an object shared by two
// of them is one object on every replica. The primary numbers an object when it joins the graph; a
// backup numbers the same objects in the same order when it re-runs a deterministic call, and takes the
// primary's numbers when it applies recorded changes.
//
// Only a backup looks objects up by id (a change names its target so): it keeps weak references to them,
// swept of the objects the graph dropped now and then. A primary only numbers, which costs a WeakMap entry.
export class ObjectIds {
  private readonly ids = new WeakMap<object, number>();
  private readonly objects = new Map<number, WeakRef<object>>();
  /** Objects every replica holds under their id (sent in full, or numbered alike by a repeated call). */
  private known = new WeakSet<object>();
  private counter = 1;
  private sweptAt = 1024;

  /**
   * On a replica: an object it holds was sent in full again (the primary did not count it as known to
   * every replica; a backup that joined from a streamed snapshot may hold it already). The object it
   * holds keeps its identity and takes the content sent.
   */
  resent: ((existing: object, content: object) => void) | undefined;

  /** @param findable Whether objects are looked up by id here (a backup's replica). */
  constructor(private findable = false) {}

  /** From now on objects are looked up by id (this replica follows a primary). */
  beFindable(): void {
    this.findable = true;
  }

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

  /** Gives `object` the id the primary sent it with (a backup decoding an update or a snapshot). */
  register(object: object, id: number): void {
    this.ids.set(object, id);
    this.remember(object, id);
    this.known.add(object);
    if (id >= this.counter) this.counter = id + 1;
  }

  /** Numbers an object not yet numbered, or returns its number. */
  assign(object: object): number {
    const found = this.ids.get(object);
    if (found !== undefined) return found;
    const id = this.counter++;
    this.ids.set(object, id);
    if (this.findable) this.remember(object, id);
    return id;
  }

  private remember(object: object, id: number): void {
    this.objects.set(id, new WeakRef(object));
    if (this.objects.size > this.sweptAt) this.sweep();
  }

  /** Forgets the ids of objects that were collected; the next sweep when the map has doubled. */
  private sweep(): void {
    for (const [id, ref] of this.objects) if (ref.deref() === undefined) this.objects.delete(id);
    this.sweptAt = Math.max(1024, this.objects.size * 2);
  }

  /** Whether the backups already hold this object (it is then sent as a reference). */
  isKnownToReplicas(object: object): boolean {
    return this.known.has(object);
  }

  markSent(object: object): void {
    this.known.add(object);
  }

  /** The action that sent it did not reach the backups, or the object left the graph on every replica. */
  markUnsent(object: object): void {
    this.known.delete(object);
  }

  /** A snapshot is about to be taken: from now on, replicas know exactly what it holds. */
  forgetWhatReplicasKnow(): void {
    this.known = new WeakSet();
  }
}
