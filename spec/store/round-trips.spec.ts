/**
 * Round trips of token creation and rotation on a real standalone Redis (issue 27 target 5): a
 * recorded token (allowlist) is one EVAL, its index entry and record written by one script; both
 * are there after it (the record never without its index entry). `createTokenPair()` sends both
 * scripts together (one round trip); a rotation writes the new pair's records in its own use-once
 * script (one EVAL), and only when it rotates. bench/round-trips.ts prints the whole table.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import Redis from 'ioredis';
import {
  createAccessToken, createRefreshToken, createTokenPair, decodeToken, getStoredTokens, JwtManager, RedisTokenStore, revokeAllTokens, revokeToken,
  rotateRefreshToken, TieredTokenStore,
} from '../../src';
import { RevokedTokenError } from '../../src/core/errors';
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

  /** Every command the store's client sends from now, and how many waves (sent while none was in flight) they went out in. */
  function watchStore(): { sent: string[]; waves: () => number } {
    const sent: string[] = [];
    let inFlight = 0;
    let waves = 0;
    const client = clientOf(store) as Redis;
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string; promise: Promise<unknown> }, ...rest: unknown[]) => {
      sent.push(command.name);
      if (inFlight === 0) waves += 1;
      inFlight += 1;
      const done = () => { inFlight -= 1; };
      command.promise.then(done, done);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof client.sendCommand;
    return { sent, waves: () => waves };
  }

  const SECRET = 'round-trips-spec-secret-0123456789abcdef';

  it("createTokenPair(), allowlist, checks 'all': the cut-off read once, both records in one round trip (two scripts sent together), both stored with their index entries", async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all' } });
    await createAccessToken('warm-up'); // the connection is up
    let watch = watchStore();
    await createAccessToken('alice');
    await createRefreshToken('alice');
    assert.deepEqual(watch.sent, ['get', 'eval', 'get', 'eval'], 'the two calls: each reads the cut-off, then records (4 round trips on a store with no tier)');
    watch = watchStore();
    const { accessToken, refreshToken } = await createTokenPair('alice', { access: { fresh: true } });
    assert.deepEqual(watch.sent, ['get', 'eval', 'eval']);
    assert.equal(watch.waves(), 2, 'the cut-off, then both records together');
    const [access, refresh] = await Promise.all([decodeToken(accessToken), decodeToken(refreshToken)]);
    assert.equal(access.gen, refresh.gen, 'one cut-off generation in both');
    assert.equal(access.fresh, true);
    assert.equal(refresh.type, 'refresh');
    const stored = (await getStoredTokens('alice')).map((t) => t.token.jti);
    assert.ok(stored.includes(access.jti) && stored.includes(refresh.jti), 'both recorded');
    assert.equal(await admin.zcard('rt:i:{alice}'), 4);
  });

  it('createTokenPair(): a store that fails one of the two writes rejects, and hands out neither token', async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all' } });
    const add = store.add.bind(store);
    let calls = 0;
    store.add = async (entry) => {
      calls += 1;
      if (calls === 2) throw new Error('the second write fails');
      return add(entry);
    };
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all' } }); // methods are read at configure()
    await assert.rejects(createTokenPair('alice'), /could not be recorded/);
  });

  it("rotateRefreshToken(), allowlist, checks 'all': one EVAL rotates and records the new pair with its index entries", async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', refreshRotation: true } });
    const refresh = await createRefreshToken('alice');
    const payload = await decodeToken(refresh);
    const watch = watchStore();
    const pair = await rotateRefreshToken({ payload });
    // a payload passed by hand is checked first (record, cut-off, family: three reads sent together), then the one script
    assert.deepEqual(watch.sent, ['get', 'get', 'eval', 'eval'], 'the store step and both records in one script');
    assert.equal(watch.waves(), 2);
    const stored = (await getStoredTokens('alice')).map((t) => t.token.jti).sort();
    const [access, next] = await Promise.all([decodeToken(pair.accessToken), decodeToken(pair.refreshToken)]);
    assert.deepEqual(stored, [payload.jti, access.jti, next.jti].sort());
    assert.equal(await admin.zcard('rt:i:{alice}'), 3);
    const ttl = await admin.ttl(store.keys.token(next.jti as string));
    assert.ok(ttl > 0 && ttl <= (next.exp as number) - Math.floor(Date.now() / 1000) + 1, `the record lives until its token's exp (ttl ${ttl})`);
    // the pair works: the successor rotates in turn
    await rotateRefreshToken({ payload: next });
  });

  it('the refused side: a reuse (interval 0) and a revoked family write no record, and the pair of a losing concurrent rotation is never stored', async () => {
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', refreshRotation: true, reuseIntervalSeconds: 0 } });
    const payload = await decodeToken(await createRefreshToken('alice'));
    const outcomes = await Promise.allSettled([rotateRefreshToken({ payload }), rotateRefreshToken({ payload })]);
    const won = outcomes.filter((o): o is PromiseFulfilledResult<{ accessToken: string; refreshToken: string }> => o.status === 'fulfilled');
    assert.equal(won.length, 1, 'one rotation wins');
    assert.ok(outcomes.some((o) => o.status === 'rejected' && o.reason instanceof RevokedTokenError), 'the other is reuse');
    const keysAfterRace = (await admin.keys('rt:t:*')).length;
    assert.equal(keysAfterRace, 3, 'the presented token and the one pair handed out: the losing candidate was not recorded');
    await assert.rejects(rotateRefreshToken({ payload }), RevokedTokenError);
    await assert.rejects(rotateRefreshToken({ payload: await decodeToken(won[0]!.value.refreshToken) as never }), RevokedTokenError);
    assert.equal((await admin.keys('rt:t:*')).length, keysAfterRace, 'nothing recorded for a reuse or a revoked family');
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

  it('rotateRefreshToken() with the records of the new pair: one EVAL, confirmed like the other writes', async () => {
    JwtManager.configure({ secret: 'round-trips-spec-secret-0123456789abcdef', revocation: { store, checks: 'all', refreshRotation: true } });
    const payload = await decodeToken(await createRefreshToken('alice'));
    const check = await store.inspect({ jti: payload.jti as string, identity: 'alice', family: payload.fam as string });
    assert.equal(check.family?.revoked, false);
    sent.length = 0;
    const pair = await rotateRefreshToken({ payload }); // the tier answers the check, as after the guard's
    assert.deepEqual(sent, ['eval']);
    const next = await decodeToken(pair.refreshToken);
    assert.ok((await getStoredTokens('alice')).some((t) => t.token.jti === next.jti), 'the successor is recorded');
    await rotateRefreshToken({ payload: next });
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
