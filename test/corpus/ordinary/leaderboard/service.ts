// A leaderboard in the database, with a reconstructed cache of the top entries beside it.
import { state } from 'durability-compiler';

export class Scores {
  private best = new Map<string, number>();

  record(player: string, score: number): boolean {
    const before = this.best.get(player);
    if (before !== undefined && before >= score) return false;
    this.best.set(player, score);
    return true;
  }

  remove(player: string): void {
    this.best.delete(player);
  }

  score(player: string): number | undefined {
    return this.best.get(player);
  }

  top(n: number): Array<[string, number]> {
    return [...this.best.entries()].sort(([, a], [, b]) => b - a).slice(0, n);
  }
}

export class TopCache {
  private entries: Array<[string, number]> = [];
  private version = 0;

  fill(entries: Array<[string, number]>): void {
    this.entries = entries.map(([p, s]) => [p, s]);
    this.version++;
  }

  clear(): void {
    this.entries = [];
  }

  read(): { version: number; entries: Array<[string, number]> } {
    return { version: this.version, entries: this.entries.map(([p, s]) => [p, s] as [string, number]) };
  }
}

export class LeaderboardService {
  @state scores = new Scores();
  @state cache = new TopCache();

  submit(player: string, score: number): boolean {
    const improved = this.scores.record(player, score);
    if (improved) this.cache.fill(this.scores.top(10));
    return improved;
  }

  ban(player: string): void {
    this.scores.remove(player);
    this.cache.clear();
  }

  board(): Array<[string, number]> {
    const cached = this.cache.read();
    return cached.entries.length > 0 ? cached.entries : this.scores.top(10);
  }
}
