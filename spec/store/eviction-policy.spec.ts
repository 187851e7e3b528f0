/**
 * A Redis that may evict keys forgets revocations under memory pressure (issue 21, outside attack
 * helper-31: with `allkeys-lru` and 3 MB a revoked token was accepted again, with no warning). A
 * RedisTokenStore reads the policy of every node it writes to once connected (`CONFIG GET`, or
 * `INFO memory` where CONFIG is refused) and warns `KJE_REDIS_EVICTS` for anything but `noeviction`.
 */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { RedisTokenStore } from '../../src/store/redis';
import { TieredTokenStore } from '../../src/store/tiered';
import { requireRedis, startStandalone, type StandaloneRedis } from '../support/redis';

/** The KJE_REDIS_EVICTS warnings emitted while `fn` and 300 ms after it run. */
async function evictionWarnings(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error & { code?: string }) => {
    if (warning.code === 'KJE_REDIS_EVICTS') seen.push(warning.message);
  };
  process.on('warning', listener);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('store: a Redis that may evict keys is warned about (issue 21)', function () {
  this.timeout(30_000);
  let redis: StandaloneRedis;
  let admin: Redis;
  before(async function () {
    requireRedis(this);
    if (process.env.REDIS_URL) this.skip(); // changes the server's policy: only on a server of its own
    redis = await startStandalone();
    admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'no-config', 'on', '>nc', '~*', '&*', '+@all', '-config');
  });
  after(async () => {
    await admin?.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    admin?.disconnect();
    await redis?.server?.stop();
  });
  const withStore = async (url: string) => {
    const store = new RedisTokenStore({ redis: url });
    await store.find('anything').catch(() => undefined); // connected
    await new Promise((resolve) => setTimeout(resolve, 100));
    await store.close();
  };

  it('noeviction: no warning', async () => {
    await admin.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    assert.deepEqual(await evictionWarnings(() => withStore(redis.url)), []);
  });

  it('allkeys-lru: one warning naming the policy and the fix', async () => {
    await admin.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
    const warnings = await evictionWarnings(() => withStore(redis.url));
    assert.equal(warnings.length, 1, warnings.join(' | '));
    assert.match(warnings[0], /^Redis maxmemory-policy is allkeys-lru: .*revoked token would be accepted again; set maxmemory-policy noeviction/);
  });

  it("a TieredTokenStore with redisThread 'worker': its worker's warning reaches this thread's process, once", async () => {
    await admin.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random');
    const warnings = await evictionWarnings(async () => {
      for (let i = 0; i < 2; i += 1) {
        const store = new TieredTokenStore({ redis: redis.url, redisThread: 'worker' });
        for (const started = Date.now(); !store.isLinkUp && Date.now() - started < 10_000;) await new Promise((resolve) => setTimeout(resolve, 20));
        await store.close();
      }
    });
    assert.equal(warnings.length, 1, warnings.join(' | '));
    assert.match(warnings[0], /^Redis maxmemory-policy is allkeys-random: /);
  });

  it('volatile-ttl through a user denied CONFIG: read from INFO memory, warned too (every key of ours has a TTL)', async () => {
    await admin.call('CONFIG', 'SET', 'maxmemory-policy', 'volatile-ttl');
    const url = redis.url.replace('redis://', 'redis://no-config:nc@');
    const warnings = await evictionWarnings(() => withStore(url));
    assert.equal(warnings.length, 1, warnings.join(' | '));
    assert.match(warnings[0], /^Redis maxmemory-policy is volatile-ttl/);
  });
});
