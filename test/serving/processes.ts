// Real `durable serve` processes for the serving tests, through the same spawnNode the tools use, with
// the tests' cluster key.
import { spawnNode, type SpawnedNode } from '../../proxies/serving/spawn.js';

export type Node = SpawnedNode;

export function startNode(build: string, role: 'primary' | 'backup', extra: string[] = [], env: Record<string, string> = {}): Promise<Node> {
  return spawnNode(build, role, extra, { DURABLE_CLUSTER_KEY: 'serving-tests-cluster-key-0123456789', ...env });
}
