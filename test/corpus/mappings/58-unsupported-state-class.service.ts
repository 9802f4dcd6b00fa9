import { state } from 'durability-compiler';

export class Inventory extends Map<string, number> {
  #audit: string[] = [];
  count = 0;

  add = (sku: string): void => {
    this.set(sku, (this.get(sku) ?? 0) + 1);
    this.count++;
  };

  log(entry: string): void {
    this.#record(entry);
  }

  #record(entry: string): void {
    this.#audit.push(entry);
  }
}

export class Shop {
  @state inventory = new Inventory();
}
