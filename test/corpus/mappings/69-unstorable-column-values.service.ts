import { state } from 'durability-compiler';

export interface Profile {
  name: string;
  tags: string[];
  address?: { city: string; zip: string };
}

export interface Visit {
  page: string;
  at: Date;
}

export class Badge {
  constructor(
    public id: string,
    public level: number,
  ) {}
}

export class Members {
  private members = new Map<string, { profile: Profile; roles: Set<Date>; badge?: Badge; visits: Visit[]; joined: Date; points: bigint }>();

  join(id: string, profile: Profile, joined: Date, points: bigint | null): void {
    this.members.set(id, { profile, roles: new Set(), visits: [], joined, points: points ?? 0n });
  }

  grant(id: string, roles: Set<Date>, badge: Badge): void {
    const member = this.members.get(id);
    if (member) Object.assign(member, { roles, badge });
  }

  visit(id: string, visit: Visit, seen: Map<string, bigint>): void {
    this.members.get(id)?.visits.push(visit);
    void seen;
  }

  restore(id: string, profile: Profile, roles: Set<Date>): void {
    this.members.set(id, { profile, roles, visits: [], joined: new Date(0), points: 0n });
  }
}

export class ClubService {
  @state members = new Members();
}
