// Helpers of the service's own sources: the analysis follows calls into them.
export let issued = 0;

export function nextNumber(): number {
  return ++issued;
}

/** Deterministic, whatever its name says: the same seed gives the same number. */
export function randomInt(seed: number, max: number): number {
  return (seed * 7919) % max;
}

export class Config {
  static region(): string {
    return process.env.REGION ?? 'local';
  }
}
