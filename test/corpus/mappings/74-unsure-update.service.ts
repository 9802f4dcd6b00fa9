import { state } from 'durability-compiler';
import { inspect, isDeepStrictEqual } from 'node:util';

export interface Row {
  name: string;
  score: number;
}

export class Scores {
  private rows: Row[] = [];
  private byName = new Map<string, Row>();

  add(name: string, score: number): void {
    const row = { name, score };
    this.rows.push(row);
    this.byName.set(name, row);
  }

  // Hands the rows to a function the caller chose: whether that changes them, the analysis cannot see.
  visit(visitor: (rows: Row[]) => void): number {
    visitor(this.rows);
    return this.rows.length;
  }

  // Standard functions that only read, and rows collected into local collections: read-only, no warning.
  snapshot(): Record<string, Row> {
    return Object.fromEntries(this.byName);
  }

  report(): string {
    const names = Object.keys(Object.fromEntries(this.byName));
    const copy = structuredClone(this.rows);
    const merged = Object.assign({}, ...this.rows);
    return [JSON.stringify(this.rows), inspect(copy), String(isDeepStrictEqual(copy, this.rows)), names.join(), String(merged)].join('\n');
  }

  top(n: number): Row[] {
    const best: Row[] = [];
    const seen = new Map<string, Row>();
    for (const row of this.rows) {
      if (!seen.has(row.name)) best.push(row);
      seen.set(row.name, row);
    }
    return Array.from(best).sort((a, b) => b.score - a.score).slice(0, n);
  }
}

export class ScoreService {
  @state scores = new Scores();
}
