// The replication wire format: length-prefixed frames, each a JSON message. The decoder is a plain class
// fed whatever bytes the socket delivers; it returns whole messages and refuses (with a reason the
// connection logs before it closes) anything oversized, malformed or of an unknown type. It never throws
// anything else and never allocates more than the frame limit.

/**
 * Messages between a primary and a backup. A primary's messages to a backup carry `echo`, the newest
 * ping it heard from that backup; a backup's acks and heartbeats carry `ping` (replication/following.ts).
 */
export type Message =
  /**
   * The listening side's greeting. Its role and epoch are unauthenticated: they decide only whether to
   * start, and whom a backup asks to take it on; never what is committed.
   */
  (
    | {
        type: 'hello';
        nonce: string;
        node: string;
        id?: string;
        role?: 'primary' | 'backup' | 'stopped' | 'behind' | 'unsure';
        epoch?: number;
        seq?: number;
        holdsState?: boolean;
        following?: { id: string; address: string };
        holders?: { id: string; address: string }[];
        replacedAt?: number;
      }
    | { type: 'auth'; nonce: string; mac: string; node: string; id?: string; role: 'primary'; epoch: number }
    | { type: 'welcome'; mac: string; seq: number; epoch: number }
    /**
     * The joining backup's starting state, streamed (replication/snapshot.ts): where it starts and the
     * succession it joins (as a heartbeat names it), then parts the backup acknowledges one by one (the
     * primary keeps a few in flight), then the end. Batches after the snapshot's record may come between.
     */
    | { type: 'snapshot-begin'; header: unknown; peers?: { id: string; address: string }[]; primary?: { id: string; address: string } }
    | { type: 'snapshot-part'; part: number; records: unknown; replies?: unknown }
    | { type: 'snapshot-end'; parts: number }
    | { type: 'snapshot-ack'; part: number; ping?: number }
    | { type: 'batch'; batch: unknown }
    | { type: 'decide'; decision: unknown }
    | { type: 'ack'; epoch: number; upTo: number; ping?: number }
    /**
     * From a primary, `peers` lists its live backups in the order they joined (who takes over first) and
     * `primary` names its own replication port (a backup that lost its connection asks it first).
     */
    | { type: 'heartbeat'; epoch: number; at: number; ping?: number; peers?: { id: string; address: string }[]; primary?: { id: string; address: string } }
    /** The primary dropped this backup (it fell silent, or its connection failed): it must not take over. */
    | { type: 'dropped'; reason: string }
    /**
     * The connection is refused; `epoch`, when given, is the refusing node's (a newer one fences the peer);
     * `primary`, for a join sent to a backup, is the primary it follows (where to ask instead).
     */
    | { type: 'refuse'; reason: string; epoch?: number; id?: string; primary?: { id: string; address: string } }
    /** A new backup asks a primary to connect to it at `address` and stream to it. */
    | { type: 'join'; nonce: string; mac: string; address: string }
  ) & { echo?: number };

const TYPES = new Set<Message['type']>([
  'hello',
  'auth',
  'welcome',
  'snapshot-begin',
  'snapshot-part',
  'snapshot-end',
  'snapshot-ack',
  'batch',
  'decide',
  'ack',
  'heartbeat',
  'dropped',
  'refuse',
  'join',
]);
const HEADER = 4;

export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;

export class FrameError extends Error {}

export function encodeFrame(message: Message): Buffer {
  return encodeText(JSON.stringify(message));
}

/** A frame from a message already in JSON (a snapshot part, serialised as it was produced). */
export function encodeText(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER);
  return frame;
}

/** Until a peer has proven the key it may send only small frames (a handshake is a few hundred bytes). */
export const HANDSHAKE_MAX_FRAME = 4 * 1024;

export class FrameDecoder {
  private buffered: Buffer[] = [];
  private size = 0;

  /** The largest frame accepted; raised once the peer has authenticated. */
  constructor(public maxFrame = DEFAULT_MAX_FRAME) {}

  /** Adds bytes; returns the messages they complete. Throws FrameError for a frame that cannot be valid. */
  push(chunk: Buffer): Message[] {
    this.buffered.push(chunk);
    this.size += chunk.length;
    const out: Message[] = [];
    for (;;) {
      if (this.size < HEADER) return out;
      const head = this.peek(HEADER);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrame) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrame}`);
      if (this.size < HEADER + length) return out;
      const frame = this.take(HEADER + length).subarray(HEADER);
      out.push(parseMessage(frame));
    }
  }

  private peek(n: number): Buffer {
    if (this.buffered[0]!.length < n) this.buffered = [Buffer.concat(this.buffered)];
    return this.buffered[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.size -= n;
    return frame;
  }
}

function parseMessage(body: Buffer): Message {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new FrameError('frame is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FrameError('frame is not a JSON object');
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !TYPES.has(type as Message['type'])) throw new FrameError(`unknown message type ${JSON.stringify(type)?.slice(0, 40)}`);
  return value as Message;
}
