import { state } from 'durability-compiler';

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

export class Stock {
  private counts: Record<string, number> = {};

  async receive(sku: string, quantity: number): Promise<number> {
    await pause();
    this.counts[sku] = (this.counts[sku] ?? 0) + quantity;
    return this.counts[sku]!;
  }

  take(sku: string, quantity: number): number {
    const have = this.counts[sku] ?? 0;
    if (have < quantity) throw new Error(`only ${have} of ${sku} left`);
    this.counts[sku] = have - quantity;
    return this.counts[sku]!;
  }

  all(): Record<string, number> {
    return { ...this.counts };
  }
}

export class InventoryService {
  @state stock = new Stock();

  async restock(sku: string, quantity: number): Promise<number> {
    const total = await this.stock.receive(sku, quantity);
    await pause();
    return total;
  }

  async sell(sku: string, quantity: number): Promise<number> {
    await pause();
    return this.stock.take(sku, quantity);
  }

  dump(): Record<string, number> {
    return this.stock.all();
  }
}
