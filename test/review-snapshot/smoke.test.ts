import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, withLimits } from './harness.js';
let restore: () => void;
beforeAll(() => { restore = withLimits(3, 2); });
afterAll(() => restore());
describe('smoke', () => {
  it('basic', async () => {
    const r = await run({ create: () => ({ m: new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]), l: [1, 2, 3, 4, 5] }), during: ['part', (s) => s.m.set('a', 9), 'part', (s) => s.l.push(6)] });
    expect(r.streamed).toEqual(r.expected);
    expect(r.joinerState).toEqual(r.primaryState);
  });
});
