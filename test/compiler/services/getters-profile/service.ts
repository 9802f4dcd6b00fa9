import { state } from 'durability-compiler';

export class Profile {
  private first = '';
  private last = '';
  private visits = 0;

  get fullName(): string {
    return `${this.first} ${this.last}`.trim();
  }

  set fullName(value: string) {
    const [first = '', ...rest] = value.split(' ');
    this.first = first;
    this.last = rest.join(' ');
  }

  get count(): number {
    return this.visits;
  }

  visit(): void {
    this.visits++;
  }

  rename(name: string): void {
    this.fullName = name;
  }
}

export class ProfileService {
  @state profile = new Profile();

  rename(name: string): string {
    this.profile.rename(name);
    return this.profile.fullName;
  }

  visit(): number {
    this.profile.visit();
    return this.profile.count;
  }

  dump(): { name: string; visits: number } {
    return { name: this.profile.fullName, visits: this.profile.count };
  }
}
