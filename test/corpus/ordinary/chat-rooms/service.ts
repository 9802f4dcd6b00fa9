// Chat rooms: nested classes held in state, Sets of members, messages capped per room, a service
// that reaches its state object through destructuring and a getter.
import { state } from 'durability-compiler';

export interface Message {
  author: string;
  text: string;
  at: number;
}

export class Room {
  readonly members = new Set<string>();
  readonly messages: Message[] = [];

  constructor(readonly name: string, private readonly limit: number) {}

  post(author: string, text: string, at: number): void {
    if (!this.members.has(author)) throw new Error(`${author} is not in ${this.name}`);
    this.messages.push({ author, text, at });
    if (this.messages.length > this.limit) this.messages.splice(0, this.messages.length - this.limit);
  }
}

export class Rooms {
  private rooms = new Map<string, Room>();

  create(name: string, limit: number): void {
    if (this.rooms.has(name)) return;
    this.rooms.set(name, new Room(name, limit));
  }

  join(name: string, user: string): number {
    const room = this.require(name);
    room.members.add(user);
    return room.members.size;
  }

  leave(user: string): void {
    for (const room of this.rooms.values()) room.members.delete(user);
  }

  post(name: string, author: string, text: string, at: number): void {
    this.require(name).post(author, text, at);
  }

  history(name: string, last = 20): Message[] {
    return this.require(name).messages.slice(-last).map((m) => ({ ...m }));
  }

  names(): string[] {
    return [...this.rooms.keys()];
  }

  private require(name: string): Room {
    const room = this.rooms.get(name);
    if (!room) throw new Error(`no room ${name}`);
    return room;
  }
}

export class ChatService {
  @state rooms = new Rooms();

  private get directory(): Rooms {
    return this.rooms;
  }

  open(name: string, limit = 100): string[] {
    this.rooms.create(name, limit);
    return this.directory.names();
  }

  join(name: string, user: string): number {
    const { rooms } = this;
    return rooms.join(name, user);
  }

  say(name: string, user: string, text: string, at: number): Message[] {
    this.directory.post(name, user, text.trim(), at);
    return this.rooms.history(name, 5);
  }

  quit(user: string): void {
    this.rooms.leave(user);
  }
}
