import { state } from 'durability-compiler';

export interface Task {
  id: number;
  title: string;
  tags: Set<string>;
  notes: string[];
  meta: { owner?: string; due?: Date };
}

export class Board {
  private tasks = new Map<number, Task>();
  private order: number[] = [];
  private nextId = 1;

  add(title: string, owner?: string): number {
    const id = this.nextId++;
    this.tasks.set(id, { id, title, tags: new Set(), notes: [], meta: { owner } });
    this.order.push(id);
    return id;
  }

  tag(id: number, tag: string): void {
    this.find(id).tags.add(tag);
  }

  note(id: number, text: string): void {
    this.find(id).notes.push(text);
  }

  due(id: number, at: string): void {
    this.find(id).meta.due = new Date(at);
  }

  remove(id: number): void {
    this.tasks.delete(id);
    this.order.splice(this.order.indexOf(id), 1);
  }

  moveFirst(id: number): void {
    this.order.splice(this.order.indexOf(id), 1);
    this.order.unshift(id);
  }

  private find(id: number): Task {
    const task = this.tasks.get(id);
    if (!task) throw new Error(`no task ${id}`);
    return task;
  }

  view() {
    return this.order.map((id) => {
      const t = this.tasks.get(id)!;
      return { id, title: t.title, tags: [...t.tags].sort(), notes: [...t.notes], owner: t.meta.owner ?? null, due: t.meta.due?.toISOString() ?? null };
    });
  }
}

export class BoardService {
  @state board = new Board();

  add(title: string, owner?: string): number {
    return this.board.add(title, owner);
  }
  tag(id: number, tag: string): void {
    this.board.tag(id, tag);
  }
  note(id: number, text: string): void {
    this.board.note(id, text);
  }
  due(id: number, at: string): void {
    this.board.due(id, at);
  }
  remove(id: number): void {
    this.board.remove(id);
  }
  moveFirst(id: number): void {
    this.board.moveFirst(id);
  }
  dump() {
    return this.board.view();
  }
}
