// The key-value store of bench/services/kv with its entries in a database table (bench:recovery): no
// bulk `fill` (the benchmark writes the rows straight into the table), only `put`, mapped to an upsert.
import { state } from 'durability-compiler';

export class Table {
  entries = new Map<string, string>();

  put(key: string, value: string): number {
    this.entries.set(key, value);
    return this.entries.size;
  }

  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  size(): number {
    return this.entries.size;
  }
}

export class KvService {
  @state table = new Table();

  put(key: string, value: string): number {
    return this.table.put(key, value);
  }

  get(key: string): string | undefined {
    return this.table.get(key);
  }

  size(): number {
    return this.table.size();
  }
}
