import assert from 'node:assert/strict';
import { once } from 'node:events';
import Redis from 'ioredis';
import { TieredTokenStore } from '../../src/store/tiered';
import { RedisCluster, RedisServer, requireRedis } from '../support/redis';
import { eventually } from './redis-suite';

const CHANNEL = 'failover:invalidate';
// (the subscriber also listens on failover:confirm; NUMSUB is asked about the invalidation channel only)

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
      // within commandTimeoutMs plus a reconnect, the subscriber sits on a live node
      const alive = cluster.servers.filter((server) => server !== holder);
      await eventually(async () => {
        const aliveCounts = await Promise.all(alive.map(subscribersOn));
        assert.equal(aliveCounts.reduce((a, b) => a + b, 0), 1);
      }, 8000);
      // the tier is used again only once the instance can also register as live (confirm.ts):
      // with a master down and no replica the Cluster refuses commands, so that waits for the node
      await holder.start();
      await eventually(async () => assert.equal(store.isLinkUp, true), 15000);
    } finally {
      await store.close();
      client.disconnect();
    }
  });
});
