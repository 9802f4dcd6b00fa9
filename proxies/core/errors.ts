// What a generated service's method throws when its request did not succeed for a reason other than the
// method's own exception (which is rethrown as it was): the caller may retry these with the same id.
import type { Outcome } from '../action/controller.js';

export class DurabilityError extends Error {
  constructor(
    readonly code: 'UNAVAILABLE' | 'NOT_PRIMARY' | 'TX_CONFLICT' | 'TX_ABORTED' | 'UNKNOWN_METHOD' | 'BAD_ARGUMENTS',
    message: string,
  ) {
    super(message);
    this.name = 'DurabilityError';
  }

  /** Whether the same request may be sent again (to this node or another) with the same id. */
  get retryable(): boolean {
    return this.code === 'UNAVAILABLE' || this.code === 'NOT_PRIMARY' || this.code === 'TX_CONFLICT';
  }
}

/** The result of an outcome, or what it throws. */
export function unwrap<R>(outcome: Outcome): R {
  switch (outcome.kind) {
    case 'ok':
      return outcome.result as R;
    case 'service-error':
      throw outcome.error ?? new Error(outcome.message);
    case 'refused':
      throw outcome.error;
    case 'unavailable':
      throw new DurabilityError('UNAVAILABLE', outcome.message);
    case 'not-primary':
      throw new DurabilityError('NOT_PRIMARY', outcome.message);
    case 'tx-conflict':
      throw new DurabilityError('TX_CONFLICT', outcome.message);
    case 'tx-aborted':
      throw new DurabilityError('TX_ABORTED', outcome.message);
    case 'unknown-method':
      throw new DurabilityError('UNKNOWN_METHOD', outcome.message);
    case 'bad-arguments':
      throw new DurabilityError('BAD_ARGUMENTS', outcome.message);
  }
}
