/** Sorts in place: a change the state class's analysis cannot see from where it is called. */
export function normalize(names: string[]): void {
  names.sort();
}
