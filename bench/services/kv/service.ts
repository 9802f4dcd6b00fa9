// A key-value store of many small entries (8-byte keys, 100-byte values): the state-size sweep of
// issue 17, where what matters is the number of entries a joining backup must be sent, not one
// object's weight. `fill` loads entries in bulk on the primary; `put` is the steady write load.
import { state } from 'durability-compiler';

export class Table {
  entries = new Map<string, string>();

  put(key: string, value: string): number {
    this.entries.set(key, value);
    return this.entries.size;
  }

  /** Adds `count` entries from `from` on, each value 100 bytes. */
  fill(from: number, count: number): number {
    for (let i = from; i < from + count; i++) this.entries.set(keyOf(i), valueOf(i));
    return this.entries.size;
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  size(): number {
    return this.entries.size;
  }
}

export function keyOf(i: number): string {
  return i.toString(36).padStart(8, '0');
}

export function valueOf(i: number): string {
  return `value ${i} `.padEnd(100, '.');
}

export class KvService {
  @state table = new Table();

  put(key: string, value: string): number {
    return this.table.put(key, value);
  }

  fill(from: number, count: number): number {
    return this.table.fill(from, count);
  }

  get(key: string): string | undefined {
    return this.table.get(key);
  }

  size(): number {
    return this.table.size();
  }
}
