import assert from 'node:assert/strict';
import { once } from 'node:events';
import Redis from 'ioredis';
import { TieredTokenStore } from '../../src/store/tiered';
import { RedisCluster, RedisServer, requireRedis } from '../support/redis';
import { entry } from './redis-env';
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

  it("a replaced subscriber's late events leave its successor's link alone (it stays up, the tier keeps serving)", async () => {
    // CI on a loaded machine: a subscriber replaced while the Cluster came back closed after its
    // successor was ready, and turned the tier off for good ('rejects ... comes back by itself')
    const proto = TieredTokenStore.prototype as unknown as { createSubscriber(): Redis };
    const create = proto.createSubscriber;
    const subscribers: Redis[] = [];
    proto.createSubscriber = function captured(this: unknown) {
      const subscriber = create.call(this);
      subscribers.push(subscriber);
      return subscriber;
    };
    const client = cluster.client({ redisOptions: { commandTimeout: 500, maxRetriesPerRequest: 1 } });
    await once(client, 'ready');
    const store = new TieredTokenStore({ redis: client, keyPrefix: 'late:', commandTimeoutMs: 500 });
    const other = new TieredTokenStore({ redis: client, keyPrefix: 'late:', commandTimeoutMs: 500 });
    try {
      await eventually(async () => assert.equal(store.isLinkUp && other.isLinkUp, true));
      const first = subscribers[0];
      // the first subscriber stays down past commandTimeoutMs: the store moves to a second one
      (first.options as { retryStrategy: () => number }).retryStrategy = () => 60_000;
      // counted, not polled: on a loaded machine the link can drop and come back between two polls
      const watched = store as unknown as { linkDown(): void };
      const linkDown = watched.linkDown;
      let downs = 0;
      watched.linkDown = function counted(this: unknown) {
        downs += 1;
        linkDown.call(this);
      };
      first.disconnect(true);
      await eventually(async () => assert.ok(downs > 0, 'the first subscriber going away took the link down'), 2000);
      await eventually(async () => assert.equal(store.isLinkUp, true), 5000);
      assert.equal(subscribers.length, 3, 'the store replaced its subscriber (the other instance has its own)');
      // (the Cluster may still be settling from the test before, whose node restarted)
      await eventually(() => store.add(entry('jti-late', 'alice')), 8000);
      assert.equal((await store.find('jti-late'))?.revoked, false); // now in the tier
      // the replaced subscriber's events arrive late, after its successor is up
      first.emit('close');
      first.emit('ready');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(store.isLinkUp, true, 'a replaced subscriber turned the tier off');
      await other.setRevoked('jti-late', true);
      await eventually(async () => assert.equal((await store.find('jti-late'))?.revoked, true), 2000);
    } finally {
      proto.createSubscriber = create;
      await store.close();
      await other.close();
      client.disconnect();
    }
  });
});
