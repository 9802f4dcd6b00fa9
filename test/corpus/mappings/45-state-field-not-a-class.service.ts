import { state } from 'durability-compiler';

export class Wallets {
  @state balances = new Map<string, number>();
}
