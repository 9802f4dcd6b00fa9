import { state } from 'durability-compiler';

export interface Item {
  id: string;
  price: number;
}

export class Catalog {
  private items: Item[] = [];

  load(...items: Item[]): void {
    this.items.push(...items);
  }
}

export class CatalogService {
  @state catalog = new Catalog();
}
