import { state } from 'durability-compiler';
import { randomUUID as newId } from 'node:crypto';
import * as fs from 'node:fs';
import { Config, nextNumber, randomInt } from './66-repeat-unreplayable.helpers.js';

let sequence = 0;
const seen = new Set<string>();
const rand = Math.random;

export class Tickets {
  private tickets: string[] = [];

  // Clock and randomness, however imported: recorded and replayed, nothing to report.
  issue(): string {
    const id = `${newId()}-${Date.now()}-${rand()}`;
    this.tickets.push(id);
    return id;
  }

  // Deterministic, though called randomInt: nothing to report.
  pick(seed: number): string {
    const ticket = this.tickets[randomInt(seed, this.tickets.length)] ?? '';
    this.tickets.push(ticket);
    return ticket;
  }

  // A module-level counter, directly and through a helper of another module.
  number(): number {
    sequence++;
    this.tickets.push(String(sequence + nextNumber()));
    return sequence;
  }

  // The environment through a static method of another module, and a file.
  stamp(): void {
    this.tickets.push(`${Config.region()}:${fs.readFileSync('/etc/hostname', 'utf8')}`);
  }

  // A module-level collection the method changes.
  remember(ticket: string): void {
    seen.add(ticket);
    this.tickets.push(ticket);
  }

  count(): number {
    return this.tickets.length;
  }
}

export class TicketService {
  @state tickets = new Tickets();
  @state archive = new Tickets();
}
