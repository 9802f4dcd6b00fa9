import { state } from 'durability-compiler';

export class Cart {
  items: string[] = [];

  add(item: string): void {
    this.items.push(item);
  }

  clear(): void {
    this.items.length = 0;
  }
}

function restart(shop: ShopService): void {
  shop.cart = new Cart();
}

export class ShopService {
  @state cart = new Cart();
  @state saved = new Cart();

  constructor() {
    this.cart = new Cart(); // initialising, before any request: fine
  }

  checkout(): string[] {
    const items = [...this.cart.items];
    this.cart = new Cart();
    return items;
  }

  maybeReset(): void {
    this.saved ??= new Cart();
  }

  swap(): void {
    [this.cart, this.saved] = [this.saved, this.cart];
  }

  viaHelper(): void {
    restart(this);
  }

  // The way to do it: change the object through its methods.
  empty(): void {
    this.cart.clear();
  }
}
