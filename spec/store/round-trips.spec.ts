/**
 * Round trips of token creation on a real standalone Redis (issue 27 target 5): a recorded
 * token (allowlist) is one EVAL, its index entry and record written by one script; both are
 * there after it (the record never without its index entry). bench/round-trips.ts prints the
 * whole table.
 */
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { createAccessToken, createRefreshToken, getStoredTokens, JwtManager, RedisTokenStore } from '../../src';
import { commandCalls, flush, requireRedis, StandaloneRedis, startStandalone } from '../support/redis';

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
