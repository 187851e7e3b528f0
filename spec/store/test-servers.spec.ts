/**
 * The Redis servers our specs start (spec/support/redis.ts). A CI run once lost a Cluster to a node
 * that never came up: its port (44182) and bus port (54182) lay in the range the kernel hands to
 * client sockets, which the specs open by the thousand. What the harness now promises: ports below
 * that range and never handed out twice; a server that cannot bind fails at once with its log; a
 * server already on the port is never taken for ours.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freePort, RedisCluster, RedisServer, requireRedis } from '../support/redis';

function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32768;
  }
}

describe('the Redis servers of our specs', function () {
  this.timeout(30_000);
  before(function () {
    requireRedis(this, true);
  });

  it('freePort() gives ports below the ephemeral range (with the bus port too), never 6379, never twice', async () => {
    const low = ephemeralStart();
    const seen = new Set<number>();
    for (let i = 0; i < 300; i += 1) {
      const withBus = i % 2 === 0;
      const port = await freePort(withBus);
      assert.ok(port >= 1024 && port !== 6379, `port ${port}`);
      assert.ok((withBus ? port + 10000 : port) < low, `port ${port} (bus ${withBus}) reaches the ephemeral range from ${low}`);
      assert.ok(!seen.has(port), `port ${port} handed out twice`);
      seen.add(port);
      if (withBus) {
        assert.ok(!seen.has(port + 10000), `bus port ${port + 10000} handed out before`);
        seen.add(port + 10000);
      }
    }
  });

  describe('a server whose port is taken', () => {
    let first: RedisServer;
    before(async () => {
      first = new RedisServer(await freePort());
      await first.start();
    });
    after(() => first.stop());

    it("fails at once with redis-server's own reason, and does not take the server already there for ours", async () => {
      const second = new RedisServer(first.port);
      const started = Date.now();
      await assert.rejects(second.start(), (error: Error) => {
        assert.match(error.message, new RegExp(`redis-server on port ${first.port} exited with code 1 before answering`));
        assert.match(error.message, /Address already in use/);
        return true;
      });
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      await second.stop();
    });
  });

  it('a Cluster with a password comes up and answers on every node', async () => {
    const cluster = new RedisCluster('a-cluster-password-3f1e');
    await cluster.start();
    try {
      const client = cluster.client();
      try {
        await client.set('kje:test-servers', '1');
        assert.equal(await client.get('kje:test-servers'), '1');
        assert.equal(cluster.servers.length, 3);
      } finally {
        client.disconnect();
      }
    } finally {
      await cluster.stop();
    }
  });
});
