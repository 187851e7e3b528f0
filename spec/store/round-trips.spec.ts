/**
 * Round trips of token creation on a real standalone Redis (issue 27 target 5): a recorded
 * token (allowlist) is one EVAL, its index entry and record written by one script; both are
 * there after it (the record never without its index entry). bench/round-trips.ts prints the
 * whole table.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import Redis from 'ioredis';
import {
  createAccessToken, createRefreshToken, getStoredTokens, JwtManager, RedisTokenStore, revokeAllTokens, revokeToken, TieredTokenStore,
} from '../../src';
import { UnconfirmedInvalidationError } from '../../src/store/confirm';
import { clientOf } from '../../src/store/redis';
import { commandCalls, flush, requireRedis, sleep, StandaloneRedis, startStandalone } from '../support/redis';
import { eventually } from './redis-suite';

describe('RedisTokenStore: round trips of token creation (standalone)', function () {
  this.timeout(20_000);
  let redis: StandaloneRedis;
  let admin: Redis;
  let store: RedisTokenStore;

  before(async function () {
    requireRedis(this, true);
    redis = await startStandalone();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await redis?.server?.stop();
  });
  beforeEach(async () => {
    await flush(admin);
    store = new RedisTokenStore({ redis: redis.url, keyPrefix: 'rt:' });
  });
  afterEach(async () => {
    await store.close();
    JwtManager.reset();
  });

  it("allowlist, checks 'all': one EVAL per token, the record and its index entry both written", async () => {
    JwtManager.configure({ secret: 'round-trips-spec-secret-0123456789abcdef', revocation: { store, checks: 'all' } });
    const before = await commandCalls(admin, 'eval');
    await createAccessToken('alice');
    await createRefreshToken('alice');
    assert.equal(await commandCalls(admin, 'eval') - before, 2);
    assert.equal((await getStoredTokens('alice')).length, 2);
    assert.equal((await admin.keys('rt:t:*')).length, 2);
    assert.equal(await admin.zcard('rt:i:{alice}'), 2);
  });

  it('blocklist: creating tokens sends nothing', async () => {
    JwtManager.configure({ secret: 'round-trips-spec-secret-0123456789abcdef', revocation: { store, checks: 'all', mode: 'blocklist' } });
    const before = await commandCalls(admin, 'eval');
    await createAccessToken('alice');
    await createRefreshToken('alice');
    assert.equal(await commandCalls(admin, 'eval') - before, 0);
  });
});

/**
 * Round trips of a confirmed invalidation on one server (issue 27 target 5): the write's own
 * script reads the live instances after the write, so `revokeToken()` and `revokeAllTokens()`
 * send one command each, and still wait for every live instance.
 */
describe('TieredTokenStore: a revocation is one round trip on one server, and still confirmed', function () {
  this.timeout(20_000);
  let redis: StandaloneRedis;
  let admin: Redis;
  let store: TieredTokenStore;
  let sent: string[];
  const storeErrors: unknown[] = [];
  const onStoreError = (message: unknown) => storeErrors.push((message as { error: unknown }).error);

  before(async function () {
    requireRedis(this, true);
    redis = await startStandalone();
    admin = new Redis(redis.url);
    diagnostics.subscribe('koa-jwt-extended:store-error', onStoreError);
  });
  after(async () => {
    diagnostics.unsubscribe('koa-jwt-extended:store-error', onStoreError);
    admin?.disconnect();
    await redis?.server?.stop();
  });
  beforeEach(async () => {
    await flush(admin);
    storeErrors.length = 0;
    store = new TieredTokenStore({ redis: redis.url, keyPrefix: 'rt:', confirmTimeoutMs: 2000 });
    await eventually(async () => assert.ok(store.isLinkUp));
    JwtManager.configure({ secret: 'round-trips-spec-secret-0123456789abcdef', revocation: { store, checks: 'all' } });
    // every command the store's client sends from here, but its liveness heartbeat
    sent = [];
    const client = clientOf((store as unknown as { redisStore: RedisTokenStore }).redisStore) as Redis;
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
      if (!(command.name === 'eval' && String(command.args[2]).endsWith('instances') && String(command.args[0]).includes("'ZADD'"))) sent.push(command.name);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof client.sendCommand;
  });
  afterEach(async () => {
    JwtManager.reset();
    await store.close();
  });

  /** Another instance on the same Redis whose lease ends `leaseLeftMs` from now (Redis's clock), and that never confirms. */
  async function silentInstance(leaseLeftMs = 10_000): Promise<void> {
    const [seconds, micros] = await admin.time();
    await admin.zadd('rt:instances', Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + leaseLeftMs, 'silent-instance');
  }

  it('revokeToken(): one EVAL, no second read of the live set, and no confirmation of its own request after it resolved', async () => {
    const token = await createAccessToken('alice');
    sent.length = 0;
    await revokeToken(token);
    assert.deepEqual(sent, ['eval']);
    await sleep(150); // the store hears its own request after the write resolved: it sends nothing for it
    assert.deepEqual(sent, ['eval']);
  });

  it('revokeAllTokens(): one EVAL', async () => {
    await createAccessToken('alice');
    sent.length = 0;
    await revokeAllTokens('alice');
    assert.deepEqual(sent, ['eval']);
  });

  it('the live set the script read is awaited: a live instance that never confirms holds the revocation for confirmTimeoutMs and is reported', async () => {
    const token = await createAccessToken('alice');
    await silentInstance();
    sent.length = 0;
    const started = Date.now();
    await revokeToken(token);
    const took = Date.now() - started;
    assert.deepEqual(sent, ['eval']);
    assert.ok(took >= 1900, `resolved after ${took} ms, before the 2000 ms timeout: the live instance was not awaited`);
    await eventually(async () => assert.ok(storeErrors.some((e) => e instanceof UnconfirmedInvalidationError && e.unconfirmed === 1 && e.awaited === 1)));
  });

  it('an instance whose lease has ended is not awaited (members are scored by the end of their own lease)', async () => {
    const token = await createAccessToken('alice');
    await silentInstance(-1);
    const started = Date.now();
    await revokeToken(token);
    assert.ok(Date.now() - started < 1500, 'resolved long before the 2000 ms timeout');
    assert.deepEqual(storeErrors, []);
  });

  it('livenessLeaseMs sets the heartbeat to a third of it: 600 ms renews about every 200 ms, and the member is scored 600 ms ahead', async () => {
    const quick = new TieredTokenStore({ redis: redis.url, keyPrefix: 'rt-lease:', livenessLeaseMs: 600 });
    try {
      await eventually(async () => assert.ok(quick.isLinkUp));
      const before = await commandCalls(admin, 'eval');
      await sleep(1000);
      const beats = (await commandCalls(admin, 'eval')) - before - 1; // less the other store's one beat a second (the default lease)
      assert.ok(beats >= 3 && beats <= 7, `${beats} heartbeats in 1 s`);
      const [[, score]] = [await admin.zrange('rt-lease:instances', 0, -1, 'WITHSCORES')].map((r) => [r[0], Number(r[1])]);
      const [seconds, micros] = await admin.time();
      const left = score - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
      assert.ok(left > 0 && left <= 600, `the lease ends ${left} ms from now`);
    } finally {
      await quick.close();
    }
  });

  it('livenessLeaseMs is checked: below 300 ms, above an hour, or not a whole number is a configuration problem', () => {
    for (const value of [0, 299, 3_600_001, 1.5, Number.NaN, '3000']) {
      assert.throws(() => new TieredTokenStore({ redis: redis.url, livenessLeaseMs: value as number }), /livenessLeaseMs/, String(value));
    }
  });

  it('without other live instances nothing is awaited and nothing reported', async () => {
    const token = await createAccessToken('alice');
    const started = Date.now();
    await revokeToken(token);
    assert.ok(Date.now() - started < 1500, 'resolved long before the 2000 ms timeout');
    assert.deepEqual(storeErrors, []);
    assert.equal((await getStoredTokens('alice'))[0].revoked, true);
  });
});
