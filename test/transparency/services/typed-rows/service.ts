// Rows whose fields have each type a column must give back as it was: after a restart, recovery hands
// the <apply> method a boolean (not 1), a Date (not epoch milliseconds), a bigint, a Set, JSON data, and
// undefined where nothing was given (issue 11 item 11).
import { state } from 'durability-compiler';

export interface Meta {
  tags: string[];
  score: number;
}

export class Rows {
  all = new Map<string, { active: boolean; when: Date; big: bigint; note?: string; meta: Meta; labels: Set<string> }>();

  put(id: string, active: boolean, when: Date, big: bigint, note: string | undefined, meta: Meta, labels: Set<string>): void {
    this.all.set(id, { active, when, big, note, meta, labels });
  }

  get(id: string) {
    return this.all.get(id);
  }
}

export class TypedService {
  @state rows = new Rows();

  put(id: string, active: boolean, when: Date, big: bigint, note: string | undefined, meta: Meta, labels: string[]): void {
    this.rows.put(id, active, when, big, note, meta, new Set(labels));
  }

  dump(): unknown {
    return [...this.rows.all];
  }
}
