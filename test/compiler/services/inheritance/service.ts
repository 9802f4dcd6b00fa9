import { state } from 'durability-compiler';

export class Registry {
  protected entries: string[] = [];

  register(name: string): number {
    this.entries.push(name);
    return this.entries.length;
  }

  list(): string[] {
    return [...this.entries];
  }
}

export class AuditedRegistry extends Registry {
  private audit: string[] = [];

  override register(name: string): number {
    this.audit.push(`+${name}`);
    return super.register(name);
  }

  unregister(name: string): void {
    const i = this.entries.indexOf(name);
    if (i >= 0) this.entries.splice(i, 1);
    this.audit.push(`-${name}`);
  }

  trail(): string[] {
    return [...this.audit];
  }
}

export class RegistryService {
  @state users = new AuditedRegistry();
  @state guests = new Registry();

  join(name: string, guest: boolean): number {
    return guest ? this.guests.register(name) : this.users.register(name);
  }

  leave(name: string): void {
    this.users.unregister(name);
  }

  dump() {
    return { users: this.users.list(), trail: this.users.trail(), guests: this.guests.list() };
  }
}
