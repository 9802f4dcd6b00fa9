// update="repeat" re-runs calls on the backups. What a call reads from clocks and random sources is
// recorded and replayed (whatever name or module it is reached through); what cannot be replayed (a
// module-level counter) makes the backup's re-run differ from the primary's, which its digest check
// catches: the backup stops, may not take over, and takes a fresh snapshot (issue 16).
import { beforeAll, describe, expect, it } from 'vitest';
import { installNondeterminismSources } from '../../proxies/replication/nondeterminism.js';
import { harness, shape } from './support.js';

let Lottery: typeof import('./fixtures/sources.js').Lottery;

beforeAll(async () => {
  installNondeterminismSources(); // what a build's first import does
  ({ Lottery } = await import('./fixtures/sources.js'));
});

const repeat = '<state name="s" type="replication" update="repeat"/>';

describe('update="repeat" and nondeterminism', () => {
  it('a backup re-running a call gets the clock and random values the primary got, through any name', async () => {
    const h = await harness(repeat, () => new Lottery(), [Lottery]);
    for (let i = 0; i < 5; i++) expect(await h.run((s) => s.draw())).toMatchObject({ kind: 'ok' });
    expect(h.backups[0]!.replica.stoppedBecause).toBeUndefined();
    expect(shape(h.raw(h.backups[0]))).toEqual(shape(h.raw()));
    const promoted = await h.promote();
    expect(shape(h.raw(promoted))).toEqual(shape(h.raw()));
  });

  it('a re-run that differs (a module-level counter) stops the backup, which then cannot take over', async () => {
    const h = await harness(repeat, () => new Lottery(), [Lottery]);
    const out = await h.run((s) => s.number());
    expect(out.kind).toBe('ok');
    const backup = h.backups[0]!;
    expect(backup.replica.stoppedBecause).toMatch(/DUR3007.*Lottery\.number|DUR3007.*s\.number/);
    expect(backup.replica.hasSnapshot).toBe(false);
    // A fresh snapshot from its primary makes it a good backup again.
    backup.replica.loadSnapshot(JSON.parse(JSON.stringify(h.primary.snapshot())));
    expect(backup.replica.stoppedBecause).toBeUndefined();
    expect(shape(h.raw(backup))).toEqual(shape(h.raw()));
  });

  it('a frozen empty array stored by service code, then a method re-run in the same request: the backup agrees', async () => {
    class Store {
      list: unknown[] = ['x'];
      set = new Set<unknown>(['s']);
      drop(k: unknown) {
        return this.set.delete(k);
      }
    }
    const h = await harness(repeat, () => new Store(), [Store]);
    expect(
      await h.run((s) => {
        s.list.unshift(Object.freeze([]));
        return s.drop('s');
      }),
    ).toEqual({ kind: 'ok', result: true });
    expect(h.backups[0]!.replica.stoppedBecause).toBeUndefined();
    const promoted = await h.promote();
    expect(shape(h.raw(promoted))).toEqual(shape(h.raw()));
  });

  it('a function argument, and an argument changed after the call: the backup still ends up equal', async () => {
    const h = await harness(repeat, () => new Lottery(), [Lottery]);
    await h.run((s) => {
      s.numbered.push(1, 2, 3);
      s.each((n) => n * 10);
    });
    await h.run((s) => {
      const item = { v: 7 };
      s.add(item);
      item.v = 8;
    });
    expect(h.backups[0]!.replica.stoppedBecause).toBeUndefined();
    expect(shape(h.raw(h.backups[0]))).toEqual(shape(h.raw()));
    expect((h.raw(h.backups[0]) as unknown as { last: { v: number } }).last.v).toBe(8);
  });
});
