// A shop: carts replicated, orders in the database (plain JSON data in a column), a helper module
// that prices a cart, and an order object that is complete before it is handed to state.
import { state } from 'durability-compiler';
import { priceOf, type Line } from './pricing.js';

export interface Order {
  id: string;
  customer: string;
  lines: Line[];
  total: number;
}

export class Carts {
  private carts = new Map<string, Line[]>();

  add(customer: string, sku: string, quantity: number): void {
    const lines = this.carts.get(customer) ?? [];
    const line = lines.find((l) => l.sku === sku);
    if (line) line.quantity += quantity;
    else lines.push({ sku, quantity });
    this.carts.set(customer, lines);
  }

  take(customer: string): Line[] {
    const lines = this.carts.get(customer) ?? [];
    this.carts.delete(customer);
    return lines.map((l) => ({ ...l }));
  }

  peek(customer: string): Line[] {
    return (this.carts.get(customer) ?? []).map((l) => ({ ...l }));
  }
}

export class Orders {
  private orders: Order[] = [];

  place(order: Order): void {
    this.orders.push(order);
  }

  load(id: string, customer: string, lines: Line[], total: number): void {
    this.orders.push({ id, customer, lines, total });
  }

  of(customer: string): Order[] {
    return this.orders.filter((o) => o.customer === customer).map((o) => structuredClone(o));
  }
}

export class ShopService {
  @state carts = new Carts();
  @state orders = new Orders();

  add(customer: string, sku: string, quantity = 1): number {
    this.carts.add(customer, sku, quantity);
    return priceOf(this.carts.peek(customer));
  }

  checkout(customer: string, id: string): Order {
    const lines = this.carts.take(customer);
    if (lines.length === 0) throw new Error('the cart is empty');
    const order: Order = { id, customer, lines, total: priceOf(lines) };
    this.orders.place(order);
    return { ...order, lines: order.lines.map((l) => ({ ...l })) };
  }

  history(customer: string): Order[] {
    return this.orders.of(customer);
  }
}
