import { state } from 'durability-compiler';

function stamp(): number {
  return Date.now();
}

export class Journal {
  private entries: string[] = [];

  write(text: string): void {
    this.entries.push(`${stamp()} ${text}`);
  }

  note(text: string): void {
    this.entries.push(`${Date()} ${text}`);
  }

  plain(text: string): void {
    this.entries.push(text);
  }
}

export class JournalService {
  @state journal = new Journal();
}
