import { state } from 'durability-compiler';

interface Machine {
  id: string;
  cpu: number;
  busy: boolean;
  tags: string[];
}

export class Fleet {
  private byId = new Map<string, Machine>();
  private list: Machine[] = [];
  private a = 0;
  private b = 0;

  // Each of these writes the object, one way or another: each needs SQL.
  tag(id: string, tag: string): void {
    this.byId.get(id)!.tags.push(tag);
  }
  reserve(id: string): void {
    const m = this.byId.get(id);
    if (m) m.busy = true;
  }
  reserveFirst(cpu: number): void {
    const m = this.list.find((x) => x.cpu >= cpu);
    if (m) m.busy = true;
  }
  releaseAll(): void {
    for (const m of this.byId.values()) m.busy = false;
  }
  reset(): void {
    Object.assign(this, { a: 0, b: 0 });
  }
  swap(): void {
    [this.a, this.b] = [this.b, this.a];
  }

  // These only read: they need no SQL.
  biggest(): Machine | undefined {
    let best = this.list[0];
    for (const m of this.list) if (best && m.cpu > best.cpu) best = m;
    return best;
  }
  next(): number {
    let n = this.a;
    n += 1;
    return n;
  }
  ids(): string[] {
    const copy = this.list.slice();
    copy.push({ id: 'x', cpu: 0, busy: false, tags: [] });
    return this.list.reduce((acc, m) => {
      acc.push(m.id);
      return acc;
    }, [] as string[]);
  }
}

export class FleetService {
  @state fleet = new Fleet();
}
