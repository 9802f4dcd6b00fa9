// A service whose public methods take the names of the generated class's run-time controls and of
// members JavaScript treats specially: every one must stay the service's own, in-process and over HTTP.
import { state } from 'durability-compiler';

export class Journal {
  entries: string[] = [];
  write(entry: string): number {
    return this.entries.push(entry);
  }
}

export class NamesService {
  @state journal = new Journal();

  commit(note: string): number {
    return this.journal.write(`commit ${note}`);
  }
  abort(reason: string): never {
    this.journal.write(`abort ${reason}`);
    throw new Error(`aborted: ${reason}`);
  }
  with(a: number, b: number): number {
    this.journal.write(`with ${a}+${b}`);
    return a + b;
  }
  begin(): string {
    this.journal.write('begin');
    return 'user begin';
  }
  dispatch(method: string, args: unknown[]): string {
    this.journal.write(`dispatch ${method}`);
    return `${method}/${args.length}`;
  }
  runtime(): string {
    return `runtime of ${this.journal.entries.length} entries`;
  }
  promote(level: number): string {
    this.journal.write(`promote ${level}`);
    return `level ${level}`;
  }
  start(): string {
    this.journal.write('start');
    return 'instance start';
  }
  then(value: string): string {
    this.journal.write(`then ${value}`);
    return `then ${value}`;
  }
  controls(): number {
    return this.journal.entries.length;
  }
  call(methods: string[], controls: number): string {
    this.journal.write('call');
    return `${methods.join(',')}:${controls}`;
  }
  'my-method'(value: number): number {
    this.journal.write(`my-method ${value}`);
    return value * 2;
  }
  toString(): string {
    return `NamesService with ${this.journal.entries.length} entries`;
  }
  entries(): string[] {
    return this.journal.entries.slice();
  }
}
