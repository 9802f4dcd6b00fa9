import { state } from 'durability-compiler';

export class Seats {
  taken = new Set<string>();
  hold(seat: string): void {
    if (this.taken.has(seat)) throw new Error(`seat ${seat} is taken`);
    this.taken.add(seat);
  }
}

export class Payments {
  total = 0;
  charge(amount: number): number {
    this.total += amount;
    return this.total;
  }
}

export class BookingService {
  @state seats = new Seats();
  @state payments = new Payments();

  hold(seat: string): number {
    this.seats.hold(seat);
    return this.seats.taken.size;
  }

  pay(amount: number): number {
    return this.payments.charge(amount);
  }

  dump() {
    return { seats: [...this.seats.taken].sort(), total: this.payments.total };
  }
}
