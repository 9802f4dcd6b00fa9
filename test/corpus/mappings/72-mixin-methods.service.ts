import { state } from 'durability-compiler';

type Constructor<T = object> = new (...args: any[]) => T;

function Versioned<TBase extends Constructor>(Base: TBase) {
  return class extends Base {
    version = 0;

    bump(): number {
      return ++this.version;
    }
  };
}

export class Document {
  text = '';

  write(text: string): void {
    this.text = text;
  }
}

export class Page extends Versioned(Document) {
  load(text: string, version: number): void {
    this.text = text;
    this.version = version;
  }
}

export class WikiService {
  @state page = new Page();

  edit(text: string): number {
    this.page.write(text);
    return this.page.bump();
  }
}
