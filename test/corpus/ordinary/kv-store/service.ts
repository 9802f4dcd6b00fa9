// A key-value store with async methods under update="repeat" (shipped as changes by the run-time), a
// loader callback handed in by the service, and TTLs from the clock.
import { state } from 'durability-compiler';

interface Entry {
  value: string;
  expires?: number;
}

export class Store {
  private entries = new Map<string, Entry>();

  put(key: string, value: string, ttlMs?: number): void {
    this.entries.set(key, { value, expires: ttlMs === undefined ? undefined : Date.now() + ttlMs });
  }

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry || (entry.expires !== undefined && entry.expires < Date.now())) return undefined;
    return entry.value;
  }

  async getOrLoad(key: string, load: (key: string) => Promise<string>): Promise<string> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const value = await load(key);
    this.entries.set(key, { value });
    return value;
  }

  remove(key: string): boolean {
    return this.entries.delete(key);
  }
}

export class KeyValueService {
  @state store = new Store();

  put(key: string, value: string, ttlMs?: number): void {
    this.store.put(key, value, ttlMs);
  }

  get(key: string): string | null {
    return this.store.get(key) ?? null;
  }

  async fetch(key: string): Promise<string> {
    return this.store.getOrLoad(key, async (k) => `loaded:${k}`);
  }

  remove(key: string): boolean {
    return this.store.remove(key);
  }
}
