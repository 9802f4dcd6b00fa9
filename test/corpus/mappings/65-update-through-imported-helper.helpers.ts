/** Sorts in place: a change the analysis finds by following the call into this module. */
export function normalize(names: string[]): void {
  names.sort();
}
