import { state } from 'durability-compiler';

export interface Machine {
  id: string;
  cpu: number;
  busy: boolean;
}

function release(machine: Machine): void {
  machine.busy = false;
}

function retire(fleet: Fleet, id: string): void {
  fleet.byId.delete(id);
}

export class Pool {
  protected count = 0;

  // A protected helper is called only by the object's own methods: it needs no SQL of its own.
  protected bumpCount(): void {
    this.count++;
  }
}

export class Fleet extends Pool {
  byId = new Map<string, Machine>();
  private seq = 0;

  add(id: string, cpu: number): void {
    this.byId.set(id, { id, cpu, busy: false });
    this.bumpCount();
  }

  // Mapped below: each writes only through a path the analysis follows, so none gets DUR2010.
  reserve(id: string): void {
    const machine = this.byId.get(id);
    if (machine) this.occupy(machine);
  }

  reserveAll(): void {
    for (const machine of Object.values(Object.fromEntries(this.byId))) machine.busy = true;
  }

  get nextSeq(): number {
    return ++this.seq;
  }

  stamp(): number {
    return this.nextSeq;
  }

  remove(id: string): void {
    retire(this, id);
  }

  // Not mapped: each updates the object, so each needs SQL.
  releaseValues(): void {
    for (const machine of Array.from(this.byId.values())) machine.busy = false;
  }

  releaseSpread(): void {
    for (const machine of [...this.byId.values()]) machine.busy = false;
  }

  releaseBig(cpu: number): void {
    [...this.byId.values()].filter((m) => m.cpu >= cpu).forEach((m) => {
      m.busy = false;
    });
  }

  releaseNamed(): void {
    this.byId.forEach(release);
  }

  releaseByReference(): void {
    [...this.byId.values()].forEach(this.occupy, this);
  }

  total(): number {
    return [...this.byId.values()].reduce((fleet, m) => {
      fleet.seq += m.cpu;
      return fleet;
    }, this).seq;
  }

  reset(): void {
    Fleet.clear(this);
  }

  flag(id: string): void {
    Reflect.set(this.byId.get(id) ?? {}, 'busy', true);
  }

  static clear(fleet: Fleet): void {
    fleet.byId.clear();
  }

  private occupy(machine: Machine): void {
    machine.busy = true;
  }
}

export class FleetService {
  @state fleet = new Fleet();
}
