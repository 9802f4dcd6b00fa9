// Wiki pages built from mixins (Versioned(Timestamped(Base))): the mapping names the mixins' methods.
import { state } from 'durability-compiler';

type Constructor<T = object> = new (...args: any[]) => T;

export function Timestamped<TBase extends Constructor>(Base: TBase) {
  return class extends Base {
    touchedAt = 0;
    touch(at: number): void {
      this.touchedAt = at;
    }
  };
}

export function Versioned<TBase extends Constructor>(Base: TBase) {
  return class extends Base {
    version = 0;
    bump(): number {
      return ++this.version;
    }
  };
}

export class Page {
  text = '';
}

export class WikiPage extends Versioned(Timestamped(Page)) {
  edit(text: string, at: number): number {
    this.text = text;
    this.touch(at);
    return this.bump();
  }

  restore(text: string, version: number, at: number): void {
    this.text = text;
    this.version = version;
    this.touchedAt = at;
  }

  read(): { text: string; version: number } {
    return { text: this.text, version: this.version };
  }
}

export class WikiService {
  @state page = new WikiPage();

  edit(text: string, at: number): number {
    return this.page.edit(text, at);
  }

  read(): { text: string; version: number } {
    return this.page.read();
  }
}
