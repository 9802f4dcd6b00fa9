import { state } from 'durability-compiler';

export class Orders {
  private list: { id: string; sku: string; quantity: number }[] = [];
  place(id: string, sku: string, quantity: number): void {
    this.list.push({ id, sku, quantity });
  }
  all() {
    return this.list.map((o) => ({ ...o }));
  }
}

export class Stock {
  private levels = new Map<string, number>();
  set(sku: string, level: number): void {
    this.levels.set(sku, level);
  }
  level(sku: string): number {
    return this.levels.get(sku) ?? 0;
  }
  all(): [string, number][] {
    return [...this.levels].sort();
  }
}

export class Stats {
  orders = 0;
  units = 0;
  record(quantity: number): void {
    this.orders++;
    this.units += quantity;
  }
}

export class ShopService {
  @state orders = new Orders();
  @state stock = new Stock();
  @state stats = new Stats();

  supply(sku: string, quantity: number): number {
    this.stock.set(sku, this.stock.level(sku) + quantity);
    return this.stock.level(sku);
  }

  order(id: string, sku: string, quantity: number): number {
    this.orders.place(id, sku, quantity);
    this.stats.record(quantity);
    const left = this.stock.level(sku) - quantity;
    if (left < 0) throw new Error(`not enough ${sku}`);
    this.stock.set(sku, left);
    return left;
  }

  dump() {
    return { orders: this.orders.all(), stock: this.stock.all(), stats: { orders: this.stats.orders, units: this.stats.units } };
  }
}
