// A lending library in the database: loans carry a Date, bound column by column; a static factory
// builds the loan; errors are thrown before any change.
import { state } from 'durability-compiler';

export interface Loan {
  isbn: string;
  member: string;
  due: Date;
}

export class Loans {
  private byIsbn = new Map<string, Loan>();

  static make(isbn: string, member: string, days: number, from: Date): Loan {
    return { isbn, member, due: new Date(from.getTime() + days * 86_400_000) };
  }

  lend(loan: Loan): void {
    if (this.byIsbn.has(loan.isbn)) throw new Error(`${loan.isbn} is out`);
    this.byIsbn.set(loan.isbn, { ...loan });
  }

  restore(isbn: string, member: string, due: Date): void {
    this.byIsbn.set(isbn, { isbn, member, due });
  }

  giveBack(isbn: string): Loan {
    const loan = this.byIsbn.get(isbn);
    if (!loan) throw new Error(`${isbn} is not out`);
    this.byIsbn.delete(isbn);
    return loan;
  }

  extend(isbn: string, days: number): Date {
    const loan = this.byIsbn.get(isbn);
    if (!loan) throw new Error(`${isbn} is not out`);
    loan.due = new Date(loan.due.getTime() + days * 86_400_000);
    return loan.due;
  }

  overdue(now: Date): string[] {
    return [...this.byIsbn.values()].filter((l) => l.due < now).map((l) => l.isbn);
  }
}

export class LibraryService {
  @state loans = new Loans();

  lend(isbn: string, member: string, today: string): string {
    const loan = Loans.make(isbn, member, 21, new Date(today));
    this.loans.lend(loan);
    return loan.due.toISOString();
  }

  giveBack(isbn: string): string {
    return this.loans.giveBack(isbn).member;
  }

  extend(isbn: string): string {
    return this.loans.extend(isbn, 7).toISOString();
  }

  overdue(today: string): string[] {
    return this.loans.overdue(new Date(today));
  }
}
