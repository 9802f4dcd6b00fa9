// Todo lists: nested Maps, optional chaining, satisfies and `as`, a computed key over the service's own
// state fields, and a read-only report built with reduce into a local Map.
import { state } from 'durability-compiler';

export interface Todo {
  id: number;
  text: string;
  done: boolean;
  tags: string[];
}

export class Lists {
  private lists = new Map<string, Map<number, Todo>>();
  private seq = 0;

  add(list: string, text: string, tags: string[] = []): number {
    let todos = this.lists.get(list);
    if (!todos) this.lists.set(list, (todos = new Map()));
    const todo = { id: ++this.seq, text, done: false, tags: [...tags] } satisfies Todo;
    todos.set(todo.id, todo);
    return todo.id;
  }

  toggle(list: string, id: number): boolean {
    const todo = this.lists.get(list)?.get(id);
    if (!todo) return false;
    todo.done = !todo.done;
    return todo.done;
  }

  tag(list: string, id: number, tag: string): void {
    (this.lists.get(list)?.get(id) as Todo | undefined)?.tags.push(tag);
  }

  byTag(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const todos of this.lists.values()) {
      for (const todo of todos.values()) for (const tag of todo.tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
    }
    return counts;
  }

  open(list: string): Todo[] {
    return [...(this.lists.get(list)?.values() ?? [])].filter((t) => !t.done).map((t) => ({ ...t, tags: [...t.tags] }));
  }
}

export class Archive {
  private closed: string[] = [];
  add(list: string): void {
    this.closed.push(list);
  }
  all(): string[] {
    return [...this.closed];
  }
}

export class TodoService {
  @state lists = new Lists();
  @state archive = new Archive();

  add(list: string, text: string, ...tags: string[]): number {
    return this.lists.add(list, text, tags);
  }

  toggle(list: string, id: number): boolean {
    return this.lists.toggle(list, id);
  }

  tag(list: string, id: number, tag: string): void {
    this.lists.tag(list, id, tag);
  }

  archiveList(list: string): number {
    this.archive.add(list);
    return this.archive.all().length;
  }

  summary(which: 'lists' | 'archive'): string {
    const object = this[which];
    return object.constructor.name;
  }

  tags(): Record<string, number> {
    return Object.fromEntries(this.lists.byTag());
  }
}
