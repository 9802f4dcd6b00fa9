// A catalog of items, each an instance of a class with a nested array: the state-size sweep of issue 17
// with many small objects (a million entries are two million objects), not one Map of strings. The same
// methods as bench/services/kv, so `BENCH_SERVICE=catalog npm run bench:join` drives it unchanged.
import { state } from 'durability-compiler';

export class Item {
  constructor(
    public sku: string,
    public name: string,
    public price: number,
    public tags: string[],
  ) {}
}

export class Catalog {
  items = new Map<string, Item>();

  put(sku: string, name: string): number {
    const item = this.items.get(sku);
    if (item) item.name = name;
    else this.items.set(sku, new Item(sku, name, 0, ['new']));
    return this.items.size;
  }

  fill(from: number, count: number): number {
    for (let i = from; i < from + count; i++) this.items.set(`sku-${i}`, new Item(`sku-${i}`, `item number ${i}`, i % 1000, ['catalog', i % 2 ? 'odd' : 'even']));
    return this.items.size;
  }

  get(sku: string): string | undefined {
    return this.items.get(sku)?.name;
  }
}

export class CatalogService {
  @state catalog = new Catalog();

  put(key: string, value: string): number {
    return this.catalog.put(key, value);
  }

  fill(from: number, count: number): number {
    return this.catalog.fill(from, count);
  }

  get(key: string): string | undefined {
    return this.catalog.get(key);
  }
}
