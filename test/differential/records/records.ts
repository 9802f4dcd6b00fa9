// The records universe's state class: a keyed table of rows whose fields are one of each type a
// database column must give back as it was (string, integer, float, boolean, bigint, Date, a JSON
// object, a Set), in insertion order. Its update methods have SQL in the mapping (mapping.ts); a few
// methods show the patterns issue 11 names: a validation that throws before any change (`withdraw`),
// one that throws after a partial change (`relabel`), and one with no SQL at all (`quietStamp`).
export interface Row {
  label: string;
  amount: number;
  ratio: number;
  flag: boolean;
  big: bigint;
  stamp: Date;
  meta: Record<string, unknown>;
  tags: Set<string>;
}

export class Records {
  rows = new Map<string, Row>();

  /** Inserts or replaces a row; a replaced row keeps its place (Map.set). Also the recovery's `<apply>`. */
  put(id: string, label: string, amount: number, ratio: number, flag: boolean, big: bigint, stamp: Date, meta: Record<string, unknown>, tags: Set<string>): void {
    this.rows.set(id, { label, amount, ratio, flag, big, stamp, meta, tags });
  }

  remove(id: string): boolean {
    return this.rows.delete(id);
  }

  add(id: string, n: number): number {
    const row = this.row(id);
    row.amount += n;
    return row.amount;
  }

  /** Throws before changing anything when the amount is short (issue 11 item 1's `withdraw`). */
  withdraw(id: string, n: number): number {
    const row = this.row(id);
    if (row.amount < n) throw new RangeError(`${id} has ${row.amount}, cannot withdraw ${n}`);
    row.amount -= n;
    return row.amount;
  }

  toggle(id: string): boolean {
    const row = this.row(id);
    row.flag = !row.flag;
    return row.flag;
  }

  stamp(id: string, stamp: Date): void {
    this.row(id).stamp = stamp;
  }

  /** Changes the label, then checks it: a long one throws after the change (partial work). */
  relabel(id: string, label: string): void {
    const row = this.row(id);
    row.label = label;
    if (label.length > 5) throw new RangeError(`label '${label}' of ${id} is too long`);
  }

  /** Moves the row's Date in place, and has no SQL in the mapping: an update the database never hears of. */
  quietStamp(id: string, time: number): void {
    this.row(id).stamp.setTime(time);
  }

  get(id: string): Row | undefined {
    return this.rows.get(id);
  }

  all(): [string, Row][] {
    return [...this.rows];
  }

  private row(id: string): Row {
    const row = this.rows.get(id);
    if (!row) throw new RangeError(`no row ${id}`);
    return row;
  }
}

/**
 * The second state object: plain counts, whose values every database gives back as they went in, so a
 * run can look past the value types (DIFF_EXCLUDE the typed calls) at what else differs.
 */
export class Tallies {
  counts = new Map<string, number>();

  open(name: string, n: number): void {
    this.counts.set(name, n);
  }

  add(name: string, n: number): number {
    const next = this.count(name) + n;
    this.counts.set(name, next);
    return next;
  }

  /** Throws before changing anything when the count is short. */
  withdraw(name: string, n: number): number {
    const count = this.count(name);
    if (count < n) throw new RangeError(`${name} has ${count}, cannot withdraw ${n}`);
    this.counts.set(name, count - n);
    return count - n;
  }

  /** Takes from one, then finds the other missing: throws after a partial change. */
  transfer(from: string, to: string, n: number): void {
    this.counts.set(from, this.count(from) - n);
    if (!this.counts.has(to)) throw new RangeError(`no tally ${to} to transfer to`);
    this.counts.set(to, this.count(to) + n);
  }

  close(name: string): boolean {
    return this.counts.delete(name);
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  private count(name: string): number {
    const n = this.counts.get(name);
    if (n === undefined) throw new RangeError(`no tally ${name}`);
    return n;
  }
}
