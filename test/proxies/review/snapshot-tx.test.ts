// Found by a review of the streamed snapshot (older than it): a backup joining while a transaction was
// open got its uncommitted changes in the snapshot, and then applied them again when it committed (or
// kept them when it aborted). A join now waits for such transactions to end.
import { describe, expect, it } from 'vitest';
import type { SnapshotWriter } from '../../../proxies/replication/snapshot.js';
import { deep, rawOf, primaryWithBackup, type ListStore } from './snapshot-harness.js';

async function setup() {
  const { primary, backup: joiner } = await primaryWithBackup();
  const join = () =>
    primary.join((writer: SnapshotWriter) => {
      joiner.replica.beginSnapshot(JSON.parse(JSON.stringify(writer.header)));
      for (let n = writer.next(64, Infinity); n; n = writer.next(64, Infinity)) joiner.replica.snapshotPart(JSON.parse(n.part));
      joiner.replica.finishSnapshot();
    });
  return { primary, joiner, join };
}

describe('a backup joining while a transaction is open', () => {
  it('does not apply the transaction twice once it commits', async () => {
    const { primary, joiner, join } = await setup();
    const tx = primary.beginTransaction();
    expect((await primary.execute({ method: 'm', touches: ['store'], tx }, () => void primary.object<ListStore>('store').list.push(1))).kind).toBe('ok');
    // The join waits for the transaction: its snapshot then holds the commit, not the open changes.
    let joined = false;
    const joining = join().then(() => (joined = true));
    await new Promise((r) => setTimeout(r, 60));
    expect(joined).toBe(false);
    expect((await primary.commitTransaction(tx)).kind).toBe('ok');
    await joining;
    await new Promise((r) => setTimeout(r, 10));
    expect(deep(rawOf(joiner, 'store'))).toEqual(deep(rawOf(primary, 'store')));
  });

  it('does not keep the changes of a transaction that is then aborted', async () => {
    const { primary, joiner, join } = await setup();
    const tx = primary.beginTransaction();
    await primary.execute({ method: 'm', touches: ['store'], tx }, () => void primary.object<ListStore>('store').list.push(1));
    const joining = join();
    await new Promise((r) => setTimeout(r, 60));
    await primary.abortTransaction(tx);
    await joining;
    expect(deep(rawOf(joiner, 'store'))).toEqual(deep(rawOf(primary, 'store')));
  });
});
