// The history against the guarantees, from the final primary's state, the database and what the clients
// were told. Every violation names the request or node it is about.
import type { ClientRecord } from './clients.js';
import type { SimDatabase } from './database.js';
import type { SimNode } from './node.js';
import type { Journal } from './service.js';

/** The history against the guarantees. Every message names the request or node it is about. */
export function check(nodes: SimNode[], records: ClientRecord[], database: SimDatabase | undefined, finished: boolean): string[] {
  const violations: string[] = [];
  if (!finished)
    violations.push(
      `liveness: requests still unanswered 60 s after the faults healed (${records
        .map((r) => r.outstanding)
        .filter(Boolean)
        .join(', ')})`,
    );
  for (const r of records) violations.push(...r.errors.map((e) => `unexpected answer: ${e}`));
  const primaries = nodes.filter((n) => n.serving).sort((a, b) => b.runtime.currentEpoch - a.runtime.currentEpoch);
  const primary = primaries[0];
  if (!primary) {
    violations.push('liveness: no node serves as primary after the faults healed');
    return violations;
  }
  const journal = [...(primary.runtime.object<Journal>('journal').ids as string[])];
  const position = new Map<string, number>();
  journal.forEach((id, i) => {
    if (position.has(id)) violations.push(`duplicated: ${id} is in the journal at ${position.get(id)! + 1} and ${i + 1}`);
    else position.set(id, i);
  });
  for (const r of records) {
    for (const [id, reply] of r.acked) {
      const at = position.get(id);
      if (at === undefined) violations.push(`lost: ${id} was acknowledged (reply ${reply}) but is not in the primary's journal`);
      else if (at + 1 !== reply) violations.push(`diverged: ${id} was acknowledged as entry ${reply} but is entry ${at + 1}`);
    }
  }
  const sent = new Set(records.flatMap((r) => [...r.sent]));
  for (const id of journal) if (!sent.has(id)) violations.push(`invented: ${id} is in the journal but no client sent it`);
  if (database) {
    const rows = new Set(database.ledger);
    if (rows.size !== database.ledger.length) violations.push('duplicated: a ledger row was written twice');
    for (const id of journal) if (!rows.has(id)) violations.push(`partial: ${id} is in the replicated journal but not in the database`);
    for (const id of rows) if (!position.has(id)) violations.push(`partial: ${id} is in the database but not in the replicated journal`);
  }
  // Backups that acknowledged the primary's snapshot hold exactly its journal (one that joined a moment
  // ago may still have its snapshot on the way).
  for (const backup of nodes.filter((n) => n.alive && n !== primary && primary.link?.backups.confirmedAddresses.includes(n.id))) {
    const theirs = backup.runtime.object<Journal>('journal').ids as string[];
    if (JSON.stringify(theirs) !== JSON.stringify(journal)) violations.push(`replica: ${backup.id}'s journal (${theirs.length} entries) differs from the primary ${primary.id}'s (${journal.length})`);
  }
  return violations;
}
