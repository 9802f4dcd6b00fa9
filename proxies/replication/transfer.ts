// Sending one joining backup its snapshot, as a plain state machine the links drive: the begin message,
// parts produced one slice of work at a time, at most `window` of them unacknowledged (back-pressure from
// the backup's own pace: a slow joiner slows its transfer, never the primary's requests), then the end.
// The primary's link (transport/primary-link.ts) runs it over TCP and over the simulated network alike.
import type { SnapshotWriter } from './snapshot.js';

export const TRANSFER_LIMITS = {
  /** About this many bytes of JSON per part. */
  partBytes: 256 * 1024,
  /** Parts sent and not yet acknowledged, at most. */
  window: 16,
  /** At most this long producing one part: the event loop is the requests' in between. */
  sliceMs: 4,
};

export class SnapshotTransfer {
  private sentParts = 0;
  private ackedParts = 0;
  private ended = false;
  bytes = 0;
  readonly startedAt: number;

  constructor(
    readonly writer: SnapshotWriter,
    now: number,
    private readonly limits = TRANSFER_LIMITS,
  ) {
    this.startedAt = now;
  }

  /** The first message: where the snapshot starts, and the succession the backup joins. */
  begin(succession: { peers: { id: string; address: string }[]; primary?: { id: string; address: string } }): Record<string, unknown> & { type: 'snapshot-begin' } {
    return { type: 'snapshot-begin', header: this.writer.header, ...succession };
  }

  /** The next message to send now, as JSON: a part, or the end; undefined while the window is full or once all is sent. */
  next(now?: () => number): string | undefined {
    if (this.ended || this.sentParts - this.ackedParts >= this.limits.window) return undefined;
    const produced = this.writer.next(this.limits.partBytes, this.limits.sliceMs, now);
    if (produced) {
      this.sentParts++;
      this.bytes += produced.part.length;
      // The part's own JSON object, with the message's type and number in front.
      return `{"type":"snapshot-part","part":${this.sentParts},${produced.part.slice(1)}`;
    }
    this.ended = true;
    return JSON.stringify({ type: 'snapshot-end', parts: this.sentParts });
  }

  /** The backup read every part up to `part`. */
  acked(part: unknown): void {
    if (typeof part === 'number' && part > this.ackedParts && part <= this.sentParts) this.ackedParts = part;
  }

  get parts(): number {
    return this.sentParts;
  }

  /** Everything is sent (the end too). */
  get done(): boolean {
    return this.ended;
  }

  /** The transfer is abandoned (the connection ended): the writer stops keeping copies. */
  close(): void {
    this.ended = true;
    this.writer.close();
  }
}
