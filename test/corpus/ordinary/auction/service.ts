// Auctions with an inheritance chain: an override that calls super, a protected hook, bids kept sorted.
import { state } from 'durability-compiler';

export interface Bid {
  bidder: string;
  amount: number;
}

export class Lots {
  protected lots = new Map<string, Bid[]>();

  open(lot: string): void {
    if (!this.lots.has(lot)) this.lots.set(lot, []);
  }

  bid(lot: string, bid: Bid): number {
    const bids = this.lots.get(lot);
    if (!bids) throw new Error(`no lot ${lot}`);
    this.accept(bids, bid);
    return bids.length;
  }

  protected accept(bids: Bid[], bid: Bid): void {
    bids.push({ ...bid });
  }

  best(lot: string): Bid | undefined {
    const bids = this.lots.get(lot) ?? [];
    return bids.reduce<Bid | undefined>((top, b) => (!top || b.amount > top.amount ? b : top), undefined);
  }
}

export class SortedLots extends Lots {
  protected override accept(bids: Bid[], bid: Bid): void {
    const best = bids.at(-1);
    if (best && bid.amount <= best.amount) throw new Error(`bid ${bid.amount} does not beat ${best.amount}`);
    super.accept(bids, bid);
  }

  close(lot: string): Bid | undefined {
    const winner = this.best(lot);
    this.lots.delete(lot);
    return winner && { ...winner };
  }
}

export class AuctionService {
  @state lots = new SortedLots();

  open(lot: string): void {
    this.lots.open(lot);
  }

  bid(lot: string, bidder: string, amount: number): number {
    return this.lots.bid(lot, { bidder, amount });
  }

  close(lot: string): Bid | null {
    return this.lots.close(lot) ?? null;
  }
}
