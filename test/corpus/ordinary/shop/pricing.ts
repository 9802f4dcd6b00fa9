export interface Line {
  sku: string;
  quantity: number;
}

const PRICES: Readonly<Record<string, number>> = { apple: 3, pear: 4, fig: 9 };

export function priceOf(lines: readonly Line[]): number {
  return lines.reduce((sum, l) => sum + (PRICES[l.sku] ?? 1) * l.quantity, 0);
}
