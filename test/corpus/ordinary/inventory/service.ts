// An inventory with reservations: #private fields, getters, optional chaining, iterators.
import { state } from 'durability-compiler';

export interface Item {
  sku: string;
  name: string;
  quantity: number;
  reserved: number;
}

export class Stock {
  #items = new Map<string, Item>();

  receive(sku: string, name: string, quantity: number): void {
    const item = this.#items.get(sku);
    if (item) item.quantity += quantity;
    else this.#items.set(sku, { sku, name, quantity, reserved: 0 });
  }

  reserve(sku: string, quantity: number): boolean {
    const item = this.#find(sku);
    if (!item || this.#available(item) < quantity) return false;
    item.reserved += quantity;
    return true;
  }

  release(sku: string, quantity: number): void {
    const item = this.#find(sku);
    if (item) item.reserved = Math.max(0, item.reserved - quantity);
  }

  available(sku: string): number {
    const item = this.#find(sku);
    return item ? this.#available(item) : 0;
  }

  get skus(): string[] {
    return [...this.#items.keys()].sort();
  }

  *lowStock(threshold: number): Generator<Item> {
    for (const item of this.#items.values()) if (this.#available(item) < threshold) yield { ...item };
  }

  #find(sku: string): Item | undefined {
    return this.#items.get(sku);
  }

  #available(item: Item): number {
    return item.quantity - item.reserved;
  }
}

export class InventoryService {
  @state stock = new Stock();

  receive(sku: string, name: string, quantity: number): number {
    if (quantity <= 0) throw new Error('quantity must be positive');
    this.stock.receive(sku, name, quantity);
    return this.stock.available(sku);
  }

  order(sku: string, quantity: number): boolean {
    return this.stock.reserve(sku, quantity);
  }

  cancel(sku: string, quantity: number): void {
    this.stock.release(sku, quantity);
  }

  report(threshold = 5): { skus: string[]; low: string[] } {
    const low = Array.from(this.stock.lowStock(threshold), (item) => item.sku);
    return { skus: this.stock.skus, low };
  }
}
