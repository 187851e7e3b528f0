/**
 * The stores the model test drives: one `MemoryTokenStore` (default bounds, or small ones so
 * `maxPerIdentity` eviction, folding and a full store happen), one `RedisTokenStore`, or two
 * `TieredTokenStore` instances with a tiny LRU tier on one Redis (invalidations cross them).
 */
import assert from 'node:assert/strict';
import { MemoryTokenStore } from '../../../src';
import type { TokenStore } from '../../../src';
import { RedisTokenStore } from '../../../src/store/redis';
import { TieredTokenStore } from '../../../src/store/tiered';
import { sleep } from '../../support/redis';
import type { Bounds } from './records';

export interface Deployment {
  /** One store per app instance (tiered: two). */
  stores: TokenStore[];
  /** `MemoryTokenStore`'s bounds, which the model follows (records.ts). */
  bounds?: Bounds;
  close(): Promise<void>;
}

export type DeploymentKind = 'memory' | 'memory-small' | 'redis' | 'tiered';

/**
 * Bounds small enough that a few hundred steps fill an identity, fold and fill the store: in
 * allowlist mode every token takes a record; in blocklist mode only revocations do.
 */
export const SMALL_BOUNDS: Record<'allowlist' | 'blocklist', Bounds> = {
  allowlist: { max: 14, maxPerIdentity: 5 },
  blocklist: { max: 8, maxPerIdentity: 3 },
};

export async function openDeployment(kind: DeploymentKind, mode: 'allowlist' | 'blocklist', redisUrl: string, prefix: string): Promise<Deployment> {
  if (kind === 'memory') {
    const store = new MemoryTokenStore();
    return { stores: [store], bounds: { max: store.max, maxPerIdentity: store.maxPerIdentity }, close: () => store.close() };
  }
  if (kind === 'memory-small') {
    const store = new MemoryTokenStore(SMALL_BOUNDS[mode]);
    return { stores: [store], bounds: SMALL_BOUNDS[mode], close: () => store.close() };
  }
  if (kind === 'redis') {
    const store = new RedisTokenStore({ redis: redisUrl, keyPrefix: prefix });
    return { stores: [store], close: () => store.close() };
  }
  return openTiered(redisUrl, prefix);
}

async function openTiered(redisUrl: string, prefix: string): Promise<Deployment> {
  const stores = [0, 1].map(() => new TieredTokenStore({ redis: redisUrl, keyPrefix: prefix, max: 4, ttlMs: 3000 }));
  const deadline = Date.now() + 10_000;
  while (!stores.every((store) => store.isLinkUp)) {
    assert.ok(Date.now() < deadline, 'the tiered stores did not subscribe within 10 s');
    await sleep(20);
  }
  return {
    stores,
    close: async () => {
      await Promise.all(stores.map((store) => store.close()));
    },
  };
}
