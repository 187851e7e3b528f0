/** The RedisTokenStore behaviours, defined once and run on standalone Redis and on a Cluster. */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { TokenStoreError } from '../../src/core/errors';
import { RedisTokenStore } from '../../src/store/redis';
import { sleep, trackUnhandledRejections } from '../support/redis';
import { type RedisEnv, entry, useRedisEnv } from './redis-env';

const HOSTILE = ['{', '}', '{a}', 'a:b', '*', 'x}{y', 'jwt:i:{a}', '%7B', 'ünï©ødé 🔑', 'é', 'e\u0301', ':'.repeat(3), 'x'.repeat(5000)];

export function defineRedisStoreSuite(setup: (ctx: Mocha.Context) => Promise<RedisEnv>): void {
  const redis = useRedisEnv(setup);
  const open = (extra: { keyPrefix?: string; commandTimeoutMs?: number } = {}) =>
    redis.track(new RedisTokenStore({ redis: redis.env.connection(), keyPrefix: redis.prefix, ...extra }));


  it('finds an added record, and resolves undefined for an unknown jti', async () => {
    const store = open();
    const added = entry('jti-1', 'alice');
    await store.add(added);
    assert.deepEqual(await store.find('jti-1'), added.record);
    assert.equal(await store.find('nope'), undefined);
  });

  it('sets and clears the revoked flag, and answers undefined for an unknown jti', async () => {
    const store = open();
    const added = entry('jti-1', 'alice');
    await store.add(added);
    assert.deepEqual(await store.setRevoked('jti-1', true), { token: added.record.token, revoked: true });
    assert.deepEqual(await store.find('jti-1'), { token: added.record.token, revoked: true });
    assert.deepEqual(await store.setRevoked('jti-1', false), added.record);
    assert.equal(await store.setRevoked('nope', true), undefined);
    assert.equal(await redis.env.admin.exists(store.keys.token('nope')), 0);
  });

  it('lists exactly the records of one identity among many others', async () => {
    const store = open();
    for (let i = 0; i < 200; i += 1) await store.add(entry(`other-${i}`, `user-${i}`));
    await store.add(entry('a-1', 'alice'));
    await store.add(entry('a-2', 'alice', null));
    const jtis = (await store.findByIdentity('alice')).map((record) => record.token.jti).sort();
    assert.deepEqual(jtis, ['a-1', 'a-2']);
    assert.deepEqual(await store.findByIdentity('nobody'), []);
  });

  it('lists every record with findAll, and only those of its own prefix', async () => {
    const store = open();
    const neighbour = open({ keyPrefix: `${redis.prefix}neighbour:` });
    for (let i = 0; i < 30; i += 1) await store.add(entry(`jti-${i}`, `user-${i % 4}`));
    await neighbour.add(entry('elsewhere', 'alice'));
    const jtis = (await store.findAll()).map((record) => record.token.jti as string).sort();
    assert.deepEqual(jtis, Array.from({ length: 30 }, (_, i) => `jti-${i}`).sort());
  });

  it('does not write a token that has already expired', async () => {
    const store = open();
    await store.add(entry('dead', 'alice', -5));
    assert.equal(await store.find('dead'), undefined);
    assert.equal(await redis.env.admin.exists(store.keys.token('dead')), 0);
    assert.equal(await redis.env.admin.exists(store.keys.identity('alice')), 0);
  });

  it('keeps a record exactly until its expiresAt (30 days out: a TTL of ~30 days)', async () => {
    const store = open();
    await store.add(entry('long', 'alice', 30 * 24 * 3600));
    await store.add(entry('forever', 'alice', null));
    const ttl = await redis.env.admin.ttl(store.keys.token('long'));
    assert.ok(ttl > 30 * 24 * 3600 - 10 && ttl <= 30 * 24 * 3600, `TTL was ${ttl}`);
    assert.equal(await redis.env.admin.ttl(store.keys.token('forever')), -1);
    assert.equal(await redis.env.admin.ttl(store.keys.identity('alice')), -1);
  });

  it('keeps the TTL when the revoked flag changes', async () => {
    const store = open();
    await store.add(entry('jti-1', 'alice', 7 * 24 * 3600));
    const before = await redis.env.admin.ttl(store.keys.token('jti-1'));
    await store.setRevoked('jti-1', true);
    const after = await redis.env.admin.ttl(store.keys.token('jti-1'));
    assert.ok(before > 7 * 24 * 3600 - 10 && after > before - 5, `TTL ${before} then ${after}`);
  });

  it('drops expired members from the identity index', async () => {
    const store = open();
    await store.add(entry('short', 'alice', 1));
    await store.add(entry('long', 'alice', 3600));
    await sleep(2100);
    const jtis = (await store.findByIdentity('alice')).map((record) => record.token.jti);
    assert.deepEqual(jtis, ['long']);
    assert.deepEqual(await redis.env.admin.zrange(store.keys.identity('alice'), 0, -1), ['long']);
  });

  it('keeps hostile identities and jtis apart', async () => {
    const store = open();
    for (const value of HOSTILE) await store.add(entry(value, value));
    for (const value of HOSTILE) {
      assert.equal((await store.find(value))?.token.jti, value);
      assert.deepEqual((await store.findByIdentity(value)).map((r) => r.token.jti), [value]);
      const key = store.keys.token(value);
      assert.equal(key.slice(key.indexOf('{') + 1, key.indexOf('}')), encodeURIComponent(value));
    }
    assert.equal((await store.findAll()).length, HOSTILE.length);
  });

  it('keeps a revocation after the store that made it is closed', async () => {
    const a = open();
    await a.add(entry('jti-1', 'alice'));
    await a.setRevoked('jti-1', true);
    await a.close();
    const c = open();
    assert.equal((await c.find('jti-1'))?.revoked, true);
  });

  it('leaves a passed-in client open on close', async () => {
    const connection = redis.env.connection();
    const client = typeof connection === 'string' ? new Redis(connection) : connection;
    const store = new RedisTokenStore({ redis: client, keyPrefix: redis.prefix });
    await store.add(entry('jti-1', 'alice'));
    await store.close();
    assert.equal(await client.exists(store.keys.token('jti-1')), 1);
    if (typeof connection === 'string') client.disconnect(); // clients the env handed out are released by it
  });

  describe('when Redis stops', () => {
    it('rejects within the bounded time, then serves again once Redis is back', async function () {
      if (!redis.env.canRestart) this.skip();
      const unhandled = trackUnhandledRejections();
      const store = open({ commandTimeoutMs: 500 });
      await store.add(entry('jti-1', 'alice'));
      await redis.env.stop();
      try {
        for (const call of [() => store.find('jti-1'), () => store.add(entry('jti-2', 'bob')), () => store.setRevoked('jti-1', true)]) {
          const started = Date.now();
          await assert.rejects(call(), TokenStoreError);
          assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
        }
      } finally {
        await redis.env.start();
      }
      await eventually(async () => assert.equal(await store.find('jti-1'), undefined)); // data lost: --save ''
      await store.add(entry('jti-3', 'carol'));
      assert.equal((await store.find('jti-3'))?.token.sub, 'carol');
      await sleep(50);
      unhandled.stop();
      assert.deepEqual(unhandled.reasons, []);
    });
  });
}

/** Retries `check` until it passes or `ms` ran out. */
export async function eventually(check: () => Promise<void>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}
