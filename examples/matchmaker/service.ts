// The Matchmaker service of Chapter IV.D.2. Machines advertise what they have; clients submit jobs with
// requirements and get the first machine in the queue that fits, and are charged for it. The machine
// queue can be rebuilt from the next advertisements; the accounts cannot, so the two deserve different
// durability (Figures IV.4 and IV.5).
import { state } from 'durability-compiler';

export interface Machine {
  id: string;
  /** Cores. */
  cpu: number;
  memoryMb: number;
  diskGb: number;
}

export type Requirements = Omit<Machine, 'id'>;

/** Available machines in advertisement order; a job takes the first that fits (first fit). */
export class MachineQueue {
  private machines: Machine[] = [];

  /** Adds a machine, or updates it in place if it advertised before. */
  advertise(id: string, cpu: number, memoryMb: number, diskGb: number): void {
    const machine = { id, cpu, memoryMb, diskGb };
    const index = this.machines.findIndex((m) => m.id === id);
    if (index >= 0) this.machines[index] = machine;
    else this.machines.push(machine);
  }

  remove(id: string): void {
    const index = this.machines.findIndex((m) => m.id === id);
    if (index >= 0) this.machines.splice(index, 1);
  }

  firstFit(requirements: Requirements): Machine | undefined {
    const found = this.machines.find((m) => m.cpu >= requirements.cpu && m.memoryMb >= requirements.memoryMb && m.diskGb >= requirements.diskGb);
    return found && { ...found };
  }

  size(): number {
    return this.machines.length;
  }
}

/** What each client owes, in core-units; irreplaceable. */
export class AccountSet {
  private balances = new Map<string, number>();

  insertBill(clientId: string, balance: number): void {
    this.balances.set(clientId, balance);
  }

  setBill(clientId: string, balance: number): void {
    this.balances.set(clientId, balance);
  }

  getBill(clientId: string): number | undefined {
    return this.balances.get(clientId);
  }
}

export class NoMachineError extends Error {}

export class MatchmakerService {
  @state machines = new MachineQueue();
  @state accounts = new AccountSet();

  machineAdvertise(machine: Machine): number {
    if (!machine.id || machine.cpu <= 0 || machine.memoryMb <= 0 || machine.diskGb <= 0) {
      throw new Error(`invalid machine advertisement: ${JSON.stringify(machine)}`);
    }
    this.machines.advertise(machine.id, machine.cpu, machine.memoryMb, machine.diskGb);
    return this.machines.size();
  }

  jobSubmit(clientId: string, requirements: Requirements): Machine {
    const machine = this.machines.firstFit(requirements);
    if (!machine) throw new NoMachineError(`no machine with ${requirements.cpu} cores, ${requirements.memoryMb} MB and ${requirements.diskGb} GB is available`);
    this.machines.remove(machine.id);
    const charge = machine.cpu;
    const balance = this.accounts.getBill(clientId);
    if (balance === undefined) this.accounts.insertBill(clientId, charge);
    else this.accounts.setBill(clientId, balance + charge);
    return machine;
  }

  balance(clientId: string): number {
    return this.accounts.getBill(clientId) ?? 0;
  }

  available(): number {
    return this.machines.size();
  }
}
