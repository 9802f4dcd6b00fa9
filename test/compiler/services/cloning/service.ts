// A service that hands out structuredClone copies of its state (arrays, plain objects, Maps, Dates, shared
// references, a cycle) and of fresh objects that hold state, next to a module function of its own named
// structuredClone in another file, which stays the user's.
import { state } from 'durability-compiler';
import { copyOf } from './local-clone.js';

export interface Item {
  name: string;
  tags: string[];
  at?: Date;
}

export class Catalog {
  items: Item[] = [];
  byName = new Map<string, Item>();
  graph: { self?: unknown; items?: Item[] } = {};

  add(name: string, tags: string[]): void {
    const item: Item = { name, tags, at: new Date(Date.UTC(2026, 0, this.items.length + 1)) };
    this.items.push(item);
    this.byName.set(name, item);
    this.graph.self = this.graph;
    this.graph.items = this.items;
  }
}

export class CloningService {
  @state catalog = new Catalog();

  add(name: string, tags: string[]): number {
    this.catalog.add(name, tags);
    return this.catalog.items.length;
  }

  /** Clones of state, compared inside the method: shared references and cycles are kept. */
  shapes(): unknown {
    const items = structuredClone(this.catalog.items);
    const map = structuredClone(this.catalog.byName);
    const graph = structuredClone(this.catalog.graph);
    const fresh = structuredClone({ first: this.catalog.items[0], again: this.catalog.items[0], all: this.catalog.items });
    const clone = structuredClone;
    const viaAlias = clone(this.catalog.items);
    const viaGlobal = globalThis.structuredClone(this.catalog.byName);
    return {
      items,
      map: [...map],
      graphIsCycle: graph.self === graph,
      graphItems: graph.items,
      sharedKept: fresh.first === fresh.again && fresh.all[0] === fresh.first,
      freshIsCopy: fresh.first !== this.catalog.items[0],
      datesAreDates: items.every((i) => i.at instanceof Date),
      viaAlias: viaAlias.length,
      viaGlobal: viaGlobal.size,
      local: copyOf(this.catalog.items),
    };
  }

  /** The errors are the global's: a function cannot be cloned. */
  withFunction(): unknown {
    return structuredClone({ items: this.catalog.items, f: () => 1 });
  }
}
