// The cluster's configuration as a configuration authority holds it (docs/SERVING.md, "With a
// configuration authority"): which node is primary at which epoch, and which backups are members, that is, hold
// everything the primary acknowledged at that epoch. Only a member may take over, and only by a step in
// the authority that checks it still is one; a primary changes the members there before it acknowledges
// anything that depends on the change. Data never goes through the authority, only these few records;
// the store's own consensus (a database transaction, etcd's Raft) makes each step atomic.
//
// Plain decisions: each function looks at the configuration now stored and says what to write (a
// compare-and-set from its version) or why not. coordination.ts runs them against a store.
import type { Member } from '../replication/following.js';

export interface Configuration {
  /** Bumped by every change: the token of the compare-and-set. */
  version: number;
  epoch: number;
  primary: Member;
  /** Backups that hold everything acknowledged at this epoch, in the order they were added. */
  members: Member[];
}

export type Proposal = Omit<Configuration, 'version'>;

export type Step =
  /** Write this in place of the configuration read (if it is still the one stored). */
  | { kind: 'write'; next: Proposal }
  /** The configuration already says so: nothing to write. */
  | { kind: 'done' }
  /** Another node is primary now: this one must stop. */
  | { kind: 'fenced'; reason: string }
  /** This backup may not take over (say why); it keeps following whoever is primary. */
  | { kind: 'refuse'; reason: string }
  /** Another node took over: follow it. */
  | { kind: 'follow'; primary: Member };

/** A node starting as primary (after its checks that no live node holds the state): it is primary, with no members yet. */
export function claimPrimary(current: Configuration | undefined, self: Member, epoch: number): Step {
  if (current?.primary.id === self.id && current.epoch === epoch) return { kind: 'done' }; // its own write, read back after a lost answer
  if (current && current.epoch >= epoch) return { kind: 'refuse', reason: `the configuration is already at epoch ${current.epoch}, not below this node's ${epoch}` };
  return { kind: 'write', next: { epoch, primary: self, members: [] } };
}

function stillPrimary(current: Configuration | undefined, self: Member, epoch: number): Step | undefined {
  if (!current) return { kind: 'fenced', reason: 'the configuration is gone' };
  if (current.primary.id !== self.id || current.epoch > epoch) return { kind: 'fenced', reason: `${current.primary.address} is primary at epoch ${current.epoch}` };
  return undefined;
}

/** A backup caught up (it holds the snapshot and everything since): it becomes a member, one that may take over. */
export function addMember(current: Configuration | undefined, self: Member, epoch: number, member: Member): Step {
  const fenced = stillPrimary(current, self, epoch);
  if (fenced) return fenced;
  if (current!.members.some((m) => m.id === member.id) && current!.epoch === epoch) return { kind: 'done' };
  return { kind: 'write', next: { epoch, primary: self, members: [...current!.members.filter((m) => m.id !== member.id), member] } };
}

/** A backup stopped acknowledging: before going on without it, it stops being a member. */
export function removeMember(current: Configuration | undefined, self: Member, epoch: number, id: string): Step {
  const fenced = stillPrimary(current, self, epoch);
  if (fenced) return fenced;
  if (!current!.members.some((m) => m.id === id)) return { kind: 'done' };
  return { kind: 'write', next: { epoch, primary: self, members: current!.members.filter((m) => m.id !== id) } };
}

/**
 * A backup that lost its primary (`followed`, at `epoch`) takes over, if it is a member of the latest
 * configuration at the epoch it holds: then it holds everything acknowledged, whoever else is alive. It
 * becomes primary at a newer epoch with no members: the others hold the old primary's state, not its own,
 * and are added as they catch up with it. Two members racing: the compare-and-set lets one win.
 */
export function takeOver(current: Configuration | undefined, self: Member, epoch: number, followed: string | undefined): Step {
  if (!current) return { kind: 'refuse', reason: 'the configuration authority holds no configuration for this cluster' };
  if (current.primary.id === self.id) return current.epoch > epoch ? { kind: 'done' } : { kind: 'refuse', reason: 'the configuration names this node primary of its own epoch' };
  if (current.primary.id !== followed && current.epoch > epoch) return { kind: 'follow', primary: current.primary };
  if (!current.members.some((m) => m.id === self.id)) {
    return { kind: 'refuse', reason: `it is not a member of the latest configuration (epoch ${current.epoch}, primary ${current.primary.address}): its primary dropped it, or it had not caught up` };
  }
  if (current.epoch !== epoch) return { kind: 'refuse', reason: `it holds the state of epoch ${epoch}, and the configuration is at epoch ${current.epoch}` };
  return { kind: 'write', next: { epoch: current.epoch + 1, primary: self, members: [] } };
}

/** A configuration read back from a store, checked: a corrupt record is an error, never a guess. */
export function parseConfiguration(text: string, version: number, where: string): Configuration {
  let value: { epoch?: unknown; primary?: unknown; members?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    throw new Error(`The configuration stored in ${where} is not JSON; it was not written by durability-compiler.`);
  }
  const isMember = (m: unknown): m is Member => typeof (m as Member)?.id === 'string' && typeof (m as Member)?.address === 'string';
  if (!Number.isSafeInteger(value.epoch) || !isMember(value.primary) || !Array.isArray(value.members) || !value.members.every(isMember)) {
    throw new Error(`The configuration stored in ${where} is malformed (epoch, primary, members expected).`);
  }
  return { version, epoch: value.epoch as number, primary: value.primary, members: value.members };
}

export function serializeConfiguration(next: Proposal): string {
  return JSON.stringify({ epoch: next.epoch, primary: next.primary, members: next.members });
}

/**
 * An operator promotes this node by hand (POST /admin/promote): it becomes primary at a newer epoch
 * whatever the members say. The operator vouches that it holds everything acknowledged.
 */
export function promoteByHand(current: Configuration | undefined, self: Member, epoch: number): Step {
  if (current?.primary.id === self.id && current.epoch > epoch) return { kind: 'done' };
  return { kind: 'write', next: { epoch: Math.max(current?.epoch ?? 0, epoch) + 1, primary: self, members: [] } };
}
