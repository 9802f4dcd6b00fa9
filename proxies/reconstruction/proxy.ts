// The reconstruction proxy (Chapter IV.C.2): volatile state. Nothing is made durable; after a failure
// (or on a promoted backup) the object is created empty, then, if the mapping names one, its
// `<recovery method>` runs. It still records changes, so a request that throws, or an aborted
// transaction, leaves no partial change in memory.
import type { ReconstructionStateMapping } from '../../mappings/model.js';
import { RecordingProxy, type ProxyOptions } from '../core/recording-proxy.js';
import type { CommitPart } from '../core/types.js';

export class ReconstructionProxy<T extends object = object> extends RecordingProxy<T> {
  readonly mechanism = 'reconstruction' as const;

  constructor(
    options: ProxyOptions<T>,
    private readonly mapping?: ReconstructionStateMapping,
  ) {
    super({ ...options, checkpointMethod: mapping?.checkpoint?.name, restoreMethod: mapping?.restore?.name });
  }

  async recover(): Promise<void> {
    const fresh = this.options.create();
    const rebuild = this.mapping?.rebuild?.name;
    if (rebuild) {
      const method = (fresh as Record<string, unknown>)[rebuild];
      if (typeof method !== 'function') throw new Error(`State object '${this.name}' has no method '${rebuild}' for <recovery>.`);
      (method as () => unknown).call(fresh);
    }
    this.replaceObject(fresh);
  }

  protected partFor(): CommitPart {
    return {};
  }
}
