import { state } from 'durability-compiler';

export class Sheet {
  cells: number[] = [0, 0, 0, 0];
  names = new Map<string, number>();

  fill(values: number[]): void {
    values.forEach((v, i) => {
      if (v < 0) throw new Error(`negative value at ${i}`);
      this.cells[i] = v;
    });
  }

  name(label: string, index: number): void {
    this.names.set(label, index);
  }
}

export class SheetService {
  @state sheet = new Sheet();

  /** Names the cells, then fills them: a negative value throws after some cells were written. */
  load(values: number[], label: string): number {
    this.sheet.name(label, values.length);
    this.sheet.fill(values);
    return this.sheet.cells.reduce((a, b) => a + b, 0);
  }

  dump() {
    return { cells: [...this.sheet.cells], names: [...this.sheet.names] };
  }
}
