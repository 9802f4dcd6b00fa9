// Clients adding to the Counter under faults: each sends `add` with fresh ids, retrying each id until it
// is acknowledged, and records every reply (the count it produced), so a test can check that none is
// lost (the final value equals the replies) and none ran twice (the replies are distinct).
import { createClient, type ClientOptions } from '../../proxies/serving/client.js';

export interface CounterLoad {
  /** Every acknowledged add's reply, in the order they arrived. */
  readonly acknowledged: number[];
  /** Resolves once `count` adds have been acknowledged in all. */
  reached(count: number): Promise<void>;
  /** Stops sending new adds and waits for those in flight. */
  stop(): Promise<void>;
}

export function counterLoad(urls: string[], prefix: string, clients: number, options: ClientOptions): CounterLoad {
  const acknowledged: number[] = [];
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    const client = createClient(urls, options);
    for (let i = 0; !stopped; i++) acknowledged.push(await client.call<number>('add', [], { id: `${prefix}${c}-${i}` }));
  });
  return {
    acknowledged,
    async reached(count) {
      while (acknowledged.length < count) await new Promise((r) => setTimeout(r, 5));
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
