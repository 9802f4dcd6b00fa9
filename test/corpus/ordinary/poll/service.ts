// A poll: votes in Sets, results computed with Object.entries and reduce into local collections.
import { state } from 'durability-compiler';

export class Ballots {
  private votes: Record<string, Set<string>> = {};

  addOption(option: string): void {
    this.votes[option] ??= new Set();
  }

  vote(voter: string, option: string): void {
    const chosen = this.votes[option];
    if (!chosen) throw new Error(`no option ${option}`);
    for (const set of Object.values(this.votes)) set.delete(voter);
    chosen.add(voter);
  }

  results(): Array<{ option: string; votes: number }> {
    return Object.entries(this.votes)
      .map(([option, voters]) => ({ option, votes: voters.size }))
      .sort((a, b) => b.votes - a.votes || a.option.localeCompare(b.option));
  }

  voters(): string[] {
    const all = Object.values(this.votes).reduce((acc, set) => {
      for (const v of set) acc.add(v);
      return acc;
    }, new Set<string>());
    return [...all].sort();
  }
}

export class PollService {
  @state ballots = new Ballots();

  add(option: string): void {
    this.ballots.addOption(option);
  }

  vote(voter: string, option: string): Array<{ option: string; votes: number }> {
    this.ballots.vote(voter, option);
    return this.ballots.results();
  }

  turnout(): number {
    return this.ballots.voters().length;
  }
}
