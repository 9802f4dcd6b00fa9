// Found by a review of the streamed snapshot: a large object (sent in slices) that was frozen, sealed
// or not extensible arrived unlocked on a backup that joined (the level rode on the last slice, and the
// reader took it from the first record).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, withLimits, rawOf } from './snapshot-harness.js';

let restore: () => void;
beforeAll(() => {
  restore = withLimits(3, 2);
});
afterAll(() => restore());

const create = () => ({
  frozen: Object.freeze({ a: 1, b: 2, c: 3, d: 4, e: 5 }),
  sealed: Object.seal({ a: 1, b: 2, c: 3, d: 4 }),
  closed: Object.preventExtensions({ a: 1, b: 2, c: 3, d: 4 }),
  frozenMap: Object.freeze(
    new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]),
  ),
  sealedSet: Object.seal(new Set([1, 2, 3, 4, 5])),
});

describe('a large frozen/sealed/non-extensible object in a streamed snapshot', () => {
  it('keeps its integrity level on the backup (snapshot taken at once, no writes)', async () => {
    const r = await run({ create, during: [] });
    const backup = rawOf(r.joiner, 'store');
    expect(Object.isFrozen(backup.frozen)).toBe(true);
    expect(Object.isSealed(backup.sealed)).toBe(true);
    expect(Object.isExtensible(backup.closed)).toBe(false);
    expect(Object.isFrozen(backup.frozenMap)).toBe(true);
    expect(Object.isSealed(backup.sealedSet)).toBe(true);
  });

  it('a backup that joined equals its primary', async () => {
    const r = await run({
      create,
      during: [
        'part',
        (s) => {
          s.sealed.a = 9;
        },
        'part',
        (s) => {
          s.closed.b = 7;
        },
      ],
    });
    expect(r.joinerState).toEqual(r.primaryState);
  });
});
