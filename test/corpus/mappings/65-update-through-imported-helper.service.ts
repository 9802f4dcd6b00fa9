import { state } from 'durability-compiler';
import { normalize } from './65-update-through-imported-helper.helpers.js';

export class Profiles {
  private names: string[] = [];

  add(name: string): void {
    this.names.push(name);
  }

  tidy(): number {
    normalize(this.names);
    return this.names.length;
  }

  describe(): string {
    return JSON.stringify(this.names);
  }
}

export class ProfileService {
  @state profiles = new Profiles();
}
