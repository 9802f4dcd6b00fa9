import { state } from 'durability-compiler';

export class Cache {
  private entries = new Map<string, string>();

  async load(key: string, fetch: () => Promise<string>): Promise<string> {
    const value = await fetch();
    this.entries.set(key, value);
    return value;
  }

  put(key: string, value: string): void {
    this.entries.set(key, value);
  }
}

export class CacheService {
  @state cache = new Cache();
}
