import assert from 'node:assert/strict';
import { once } from 'node:events';
import Redis from 'ioredis';
import { TieredTokenStore } from '../../src/store/tiered';
import { RedisCluster, RedisServer, requireRedis } from '../support/redis';
import { eventually } from './redis-suite';

const CHANNEL = 'failover:invalidate';

/** Subscribers of our invalidation channel on one node (PUBSUB NUMSUB counts the node's own clients). */
async function subscribersOn(server: RedisServer): Promise<number> {
  const node = new Redis(server.port, { lazyConnect: true, maxRetriesPerRequest: 0 });
  node.on('error', () => undefined);
  try {
    await node.connect();
    const [, count] = (await node.pubsub('NUMSUB', CHANNEL)) as [string, number];
    return Number(count);
  } catch {
    return 0; // a stopped node
  } finally {
    node.disconnect();
  }
}

describe('TieredTokenStore on a Cluster whose subscriber node dies', function () {
  let cluster: RedisCluster;

  before(async function () {
    requireRedis(this, true);
    cluster = new RedisCluster();
    await cluster.start();
  });
  after(async () => cluster?.stop());

  it('moves its invalidation subscriber to another master', async () => {
    const client = cluster.client({ redisOptions: { commandTimeout: 500, maxRetriesPerRequest: 1 } });
    await once(client, 'ready');
    const store = new TieredTokenStore({ redis: client, keyPrefix: 'failover:', commandTimeoutMs: 500 });
    try {
      await eventually(async () => assert.equal(store.isLinkUp, true));
      const counts = await Promise.all(cluster.servers.map(subscribersOn));
      assert.deepEqual(counts.filter((n) => n > 0), [1], `one subscriber in all: ${counts}`);
      const holder = cluster.servers[counts.indexOf(1)];
      await holder.stop();
      await eventually(async () => assert.equal(store.isLinkUp, false), 3000);
      // within commandTimeoutMs plus a reconnect, the link is up again on a live node
      await eventually(async () => assert.equal(store.isLinkUp, true), 8000);
      const alive = cluster.servers.filter((server) => server !== holder);
      const aliveCounts = await Promise.all(alive.map(subscribersOn));
      assert.equal(aliveCounts.reduce((a, b) => a + b, 0), 1);
    } finally {
      await store.close();
      client.disconnect();
    }
  });
});
