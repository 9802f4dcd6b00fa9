// `type="none"`: the object as the service wrote it, no Proxy, no durability and no rollback. The
// baseline that comparisons measure against; it implements the interface so the wiring is uniform.
import type { ProxyOptions } from './recording-proxy.js';
import type { CommitPart, DurabilityProxy } from './types.js';

export class UnprotectedProxy<T extends object = object> implements DurabilityProxy<T> {
  readonly mechanism = 'none' as const;
  readonly name: string;
  object: T;

  constructor(private readonly options: ProxyOptions<T>) {
    this.name = options.name;
    this.object = options.create();
  }

  async init(): Promise<void> {}
  async recover(): Promise<void> {
    this.object = this.options.create();
  }
  startA(): void {}
  commitA(): CommitPart {
    return {};
  }
  abortA(): void {}
  releaseA(): void {}
  async settleA(): Promise<void> {}
  savepointA(): unknown {
    return undefined;
  }
  rollbackToA(): void {}
  startTA(): void {}
  commitTA(): CommitPart {
    return {};
  }
  abortTA(): void {}
  checkpoint(): unknown {
    return undefined;
  }
  restore(): void {}
}
