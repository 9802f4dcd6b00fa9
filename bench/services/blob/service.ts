// A state object of a chosen size whose requests change one small part of it: the Chapter III state
// size sweep, asking whether an update costs what the change costs or what the object weighs.
import { state } from 'durability-compiler';

export class Blob {
  cells: number[] = [];

  resize(size: number): number {
    this.cells = new Array<number>(size).fill(0);
    return this.cells.length;
  }

  bump(index: number): number {
    this.cells[index] = (this.cells[index] ?? 0) + 1;
    return this.cells[index]!;
  }
}

export class BlobService {
  @state blob = new Blob();

  resize(size: number): number {
    return this.blob.resize(size);
  }

  bump(index: number): number {
    return this.blob.bump(index);
  }
}
