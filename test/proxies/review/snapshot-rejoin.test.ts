// Found by a review of the streamed snapshot: a backup that held a primary's state and was sent a new
// snapshot (it reconnected) stopped holding any state when the new one began, so if the primary died
// mid-transfer the backup that held every acknowledged write could not take over. It now keeps its state,
// and what it says it applied, until the new snapshot is complete.
import { describe, expect, it } from 'vitest';
import { primaryWithBackup, type ListStore } from './snapshot-harness.js';

describe('a backup sent a second snapshot', () => {
  it('keeps the state it holds (and what it says it applied) until the new one is complete', async () => {
    const { primary, backup } = await primaryWithBackup();
    backup.replica.loadSnapshot(JSON.parse(JSON.stringify(primary.snapshot())));
    await primary.execute({ method: 'm', touches: ['store'] }, () => void primary.object<ListStore>('store').list.push(1));
    await new Promise((r) => setTimeout(r, 5));
    expect(backup.replica.hasSnapshot).toBe(true);
    const held = backup.replica.lastApplied;
    // It reconnects; a new snapshot begins, then the primary dies before the first part.
    const writer = primary.snapshotWriter();
    backup.replica.beginSnapshot(JSON.parse(JSON.stringify({ ...writer.header, seq: writer.header.seq + 0 })));
    writer.close();
    expect(backup.replica.hasSnapshot).toBe(true);
    expect(backup.replica.lastApplied).toBe(held);
  });
});
