// Sessions with an expiry, rebuilt empty after a failure; tokens from crypto (replayed under repeat).
import { state } from 'durability-compiler';
import { randomUUID } from 'node:crypto';

interface Session {
  user: string;
  expires: number;
}

export class SessionStore {
  private sessions = new Map<string, Session>();

  constructor(private readonly ttlMs = 30 * 60_000) {}

  open(user: string): string {
    const token = randomUUID();
    this.sessions.set(token, { user, expires: Date.now() + this.ttlMs });
    return token;
  }

  touch(token: string): boolean {
    const session = this.sessions.get(token);
    if (!session || session.expires < Date.now()) return false;
    session.expires = Date.now() + this.ttlMs;
    return true;
  }

  sweep(): number {
    let removed = 0;
    const now = Date.now();
    for (const [token, session] of this.sessions) {
      if (session.expires < now) {
        this.sessions.delete(token);
        removed++;
      }
    }
    return removed;
  }

  userOf(token: string): string | undefined {
    return this.sessions.get(token)?.user;
  }
}

export class AuthService {
  @state sessions = new SessionStore();

  login(user: string): string {
    return this.sessions.open(user);
  }

  check(token: string): string | null {
    return this.sessions.touch(token) ? (this.sessions.userOf(token) ?? null) : null;
  }

  sweep(): number {
    return this.sessions.sweep();
  }
}
