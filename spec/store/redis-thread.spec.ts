/**
 * `TieredTokenStore` with `redisThread: 'worker'` (issue 27): the store's Redis connections in a
 * worker thread, the tier in the requests' thread. What the worker must not change: a tier hit
 * asks nothing, invalidations and confirmations work both ways with main-thread instances, Redis
 * down fails closed, a stalled event loop gives its tier up (the worker does not renew its lease
 * meanwhile), a dead worker is replaced (calls reject meanwhile), nothing of a password crosses
 * into what is published or printed. And what it promises: no Redis socket in this thread.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { Socket } from 'node:net';
import { inspect } from 'node:util';
import Redis from 'ioredis';
import { JwtConfigurationError, TokenStoreError } from '../../src/core/errors';
import { TieredTokenStore, type TieredTokenStoreOptions } from '../../src/store/tiered';
import type { RefreshTokenUse } from '../../src/store/token-store';
import { commandCalls, flush, freePort, RedisServer, requireRedis, sleep, startStandalone, trackUnhandledRejections, type StandaloneRedis } from '../support/redis';
import { entry, uniquePrefix } from './redis-env';
import { eventually } from './redis-suite';

/** The sockets of this thread connected to `port` (what a Redis client here would hold). */
function socketsTo(port: number): Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((handle): handle is Socket => handle instanceof Socket && handle.remotePort === port);
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Blocks this thread's event loop for `ms` (a long synchronous task, a debugger pause). */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

describe("TieredTokenStore with redisThread: 'worker'", function () {
  this.timeout(30_000);
  let redis: StandaloneRedis;
  let admin: Redis;
  let prefix: string;
  const stores: TieredTokenStore[] = [];
  const errors: Array<{ error: Error; operation: string }> = [];
  const onError = (message: unknown) => errors.push(message as { error: Error; operation: string });

  const open = async (extra: Partial<TieredTokenStoreOptions> = {}) => {
    const store = new TieredTokenStore({ redis: redis.url, keyPrefix: prefix, redisThread: 'worker', ...extra });
    stores.push(store);
    await eventually(async () => assert.equal(store.isLinkUp, true), 10_000);
    return store;
  };
  /** Adds a token's record and reads it into the tier (link up, entry held). */
  const cached = async (store: TieredTokenStore, jti: string, identity: string) => {
    await store.add(entry(jti, identity));
    const query = { jti, identity };
    await eventually(async () => {
      await store.inspect(query);
      assert.ok(store.isLinkUp && store.peekState(query) !== undefined);
    });
    return query;
  };
  const workerOf = (store: TieredTokenStore) => (store as unknown as { worker: { worker: import('node:worker_threads').Worker | undefined } }).worker;

  before(async function () {
    requireRedis(this);
    redis = await startStandalone();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined);
  });
  after(async () => {
    admin?.disconnect();
    await redis?.server?.stop();
  });
  beforeEach(async () => {
    prefix = uniquePrefix();
    errors.length = 0;
    diagnostics.subscribe('koa-jwt-extended:store-error', onError);
    await flush(admin);
  });
  afterEach(async () => {
    diagnostics.unsubscribe('koa-jwt-extended:store-error', onError);
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  describe('options', () => {
    it('refuses a client (it cannot cross threads) and an unknown thread, every problem listed', () => {
      const client = new Redis({ lazyConnect: true });
      try {
        assert.throws(
          () => new TieredTokenStore({ redis: client, redisThread: 'worker' }),
          (error: unknown) => error instanceof JwtConfigurationError && error.problems.length === 1
            && /redisThread 'worker' needs redis as a redis:\/\/ URL/.test(error.problems[0]),
        );
        assert.throws(
          () => new TieredTokenStore({ redis: 'redis://127.0.0.1:1', redisThread: 'both' as 'main', max: 0 }),
          (error: unknown) => error instanceof JwtConfigurationError && error.problems.length === 2
            && error.problems.some((problem) => problem === "TieredTokenStore option redisThread must be 'main' or 'worker', got 'both'")
            && error.problems.some((problem) => /max must be a whole number >= 1, got 0/.test(problem)),
        );
        for (const url of ['not a url', 'redis://:s3cret-x9/q@host', 'redis://host:99999']) {
          assert.throws(
            () => new TieredTokenStore({ redis: url, redisThread: 'worker', max: 0 }),
            (error: unknown) => error instanceof JwtConfigurationError && error.problems.length === 2
              && error.problems.some((problem) => /got a string that does not parse as a URL \(not shown/.test(problem))
              && !error.message.includes('s3cret'),
            url,
          );
        }
      } finally {
        client.disconnect();
      }
    });
  });

  it('holds no Redis socket in this thread (the in-thread store holds two), and answers tier hits with no Redis call', async () => {
    const port = portOf(redis.url);
    const own = socketsTo(port).length; // this spec's admin client
    const inThread = await open({ redisThread: 'main' });
    assert.equal(socketsTo(port).length - own, 2, 'the main-thread store holds its command and subscriber connections here');
    await inThread.close();
    stores.splice(stores.indexOf(inThread), 1);
    await eventually(async () => assert.equal(socketsTo(port).length, own));

    const store = await open();
    await store.add(entry('j-1', 'alice'));
    const query = { jti: 'j-1', identity: 'alice' };
    assert.equal((await store.inspect(query)).record?.revoked, false); // a miss: through the worker
    assert.equal(socketsTo(port).length, own);
    const gets = await commandCalls(admin, 'get');
    for (let i = 0; i < 50; i += 1) assert.equal(store.peekState(query)?.record?.revoked, false);
    for (let i = 0; i < 20; i += 1) assert.equal((await store.inspect(query)).record?.revoked, false);
    assert.equal(await commandCalls(admin, 'get'), gets);
    assert.match(inspect(store), /redisThread: 'worker'/);
  });

  it('obeys a main-thread instance and is obeyed by one: each revocation resolves after the other tier dropped the entry', async () => {
    const worker = await open();
    const main = await open({ redisThread: 'main' });
    for (let trial = 0; trial < 20; trial += 1) {
      const jti = `t-${trial}`;
      await worker.add(entry(jti, 'alice'));
      const query = { jti, identity: 'alice' };
      await worker.inspect(query);
      await main.inspect(query);
      const [writer, reader] = trial % 2 === 0 ? [main, worker] : [worker, main];
      assert.ok(reader.peekState(query) !== undefined);
      await writer.setRevoked(jti, true);
      assert.equal(reader.peekState(query), undefined, `trial ${trial}: the reader still answers from its tier`);
      assert.equal((await reader.inspect(query)).record?.revoked, true);
    }
    for (const [writer, reader] of [[main, worker], [worker, main]]) {
      await reader.cutoff('bob');
      const cut = await writer.revokeAll('bob', undefined);
      assert.equal(await reader.cutoff('bob'), cut);
    }
    assert.deepEqual(errors.filter((message) => message.operation === 'confirm'), []);
  });

  it('rotations, families, the replay cache and the listing calls answer through the worker as in the main thread', async () => {
    const store = await open();
    const now = Date.now();
    await store.add(entry('r-1', 'carol'));
    const use = (jti: string, successor: string): RefreshTokenUse => ({ family: 'fam-1', jti, successor, now, reuseIntervalMs: 0, answer: '', keepUntil: undefined, reuseKeepUntil: undefined });
    const rotated = await store.useRefreshToken(use('r-1', 'r-2'));
    assert.equal(rotated.outcome, 'rotated');
    const reused = await store.useRefreshToken(use('r-1', 'r-3'));
    assert.equal(reused.outcome, 'reused');
    assert.equal((await store.inspect({ jti: 'r-2', identity: 'carol', family: 'fam-1' })).family?.revoked, true);
    const once = { group: 'thumb', key: 'proof-1', expiresAt: Date.now() + 60_000, maxPerGroup: 2 };
    assert.equal(await store.rememberOnce(once), 'new');
    assert.equal(await store.rememberOnce(once), 'seen');
    assert.deepEqual((await store.findByIdentity('carol')).map((record) => record.token.jti), ['r-1']);
    assert.equal((await store.findAll()).length, 1);
    await store.revokeFamily('fam-2', undefined);
    assert.equal((await store.inspect({ jti: 'x', identity: 'carol', family: 'fam-2' })).family?.revoked, true);
  });

  it('fails closed while Redis is down (TokenStoreError within the bound, the tier bypassed, errors published here) and comes back by itself', async function () {
    if (!redis.server) this.skip();
    const unhandled = trackUnhandledRejections();
    const store = await open({ commandTimeoutMs: 300 });
    await store.add(entry('d-1', 'dave'));
    await store.inspect({ jti: 'd-1', identity: 'dave' });
    try {
      await redis.server.stop();
      await eventually(async () => assert.equal(store.isLinkUp, false));
      assert.equal(store.peekState({ jti: 'd-1', identity: 'dave' }), undefined);
      const started = Date.now();
      await assert.rejects(store.inspect({ jti: 'd-1', identity: 'dave' }), TokenStoreError);
      assert.ok(Date.now() - started < 1500, `rejected after ${Date.now() - started} ms`);
      await assert.rejects(store.setRevoked('d-1', true), (error: unknown) => error instanceof TokenStoreError && error.status === 503);
      assert.ok(errors.some((message) => message.operation === 'subscribe' || message.operation === 'connection'), 'the worker thread\'s errors reach this thread\'s channel');
      await redis.server.start();
      await eventually(async () => assert.equal(store.isLinkUp, true), 10_000);
      await store.add(entry('d-2', 'dave'));
      assert.equal((await store.find('d-2'))?.revoked, false);
      assert.deepEqual(unhandled.reasons, []);
    } finally {
      unhandled.stop();
      await redis.server.start().catch(() => undefined);
    }
  });

  it('a stalled event loop renews nothing (the worker does not vouch for it) and gives its tier up before answering from it', async () => {
    const store = await open({ livenessLeaseMs: 900 });
    const query = await cached(store, 's-1', 'erin');
    const evals = await commandCalls(admin, 'eval');
    stall(2400); // eight heartbeats' time: a worker renewing on its own would store eight
    await new Promise((resolve) => setTimeout(resolve, 0)); // the lease timer is due: it runs before this one
    assert.equal(store.isLinkUp, false);
    assert.equal(store.peekState(query), undefined);
    const during = (await commandCalls(admin, 'eval')) - evals;
    assert.ok(during <= 1, `${during} heartbeats stored for a stalled thread (at most the one its own due timer sent after it)`);
    assert.ok(errors.some((message) => message.operation === 'heartbeat' && /no liveness heartbeat stored/.test(message.error.message)));
    await eventually(async () => assert.equal(store.isLinkUp, true), 10_000); // rebuilt and registered again
  });

  for (const thread of ['main', 'worker'] as const) {
    it(`a loop that stalls inside a callback answers nothing from its tier past the lease, before any timer ran (redisThread ${thread})`, async () => {
      const store = await open({ livenessLeaseMs: 900, redisThread: thread });
      const query = await cached(store, `p-${thread}`, 'hana');
      await store.cutoff('hana');
      stall(900 - 300 + 100); // past two thirds of the lease: the lease timer is due, but this callback has not returned
      // what a request whose bytes arrived during the stall sees when it is served in the same poll phase
      assert.equal(store.peekState(query), undefined);
      assert.equal(store.peek(query.jti), undefined);
      const cutoffs = await commandCalls(admin, 'get');
      await store.cutoff('hana').catch(() => undefined); // not from the tier: asked of Redis
      assert.ok((await commandCalls(admin, 'get')) > cutoffs);
      await eventually(async () => {
        assert.equal(store.isLinkUp, true);
        assert.equal((await store.inspect(query)).record?.revoked, false);
      }, 10_000);
    });
  }

  it('keeps claims as the in-thread store writes them (a JSON round trip: toJSON applied, functions dropped), in both modes', async () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return `$${(this.cents / 100).toFixed(2)}`;
      }
    }
    for (const thread of ['main', 'worker'] as const) {
      const store = await open({ redisThread: thread });
      const added = entry(`m-${thread}`, 'ivan');
      (added.record.token as Record<string, unknown>).price = new Money(150);
      (added.record.token as Record<string, unknown>).nested = { keep: 1, drop: () => 1 };
      await store.add(added);
      const stored = await admin.get(`${prefix}t:{m-${thread}}`);
      assert.match(stored!, /"price":"\$1\.50","nested":\{"keep":1\}/, thread);
    }
  });

  it('every option within its range works: the longest timeouts do not overflow a timer', async () => {
    const store = await open({ commandTimeoutMs: 2_147_483_647, confirmTimeoutMs: 2_147_483_647 });
    await store.add(entry('o-1', 'jo'));
    assert.equal((await store.find('o-1'))?.revoked, false);
    await sleep(1200); // heartbeats every second: none may fail
    assert.equal(store.isLinkUp, true);
    assert.deepEqual(errors, []);
  });

  it('heartbeats that fail (Redis stops storing them) give the tier up before the lease can lapse; it comes back when they are stored again', async () => {
    const store = await open({ livenessLeaseMs: 900 });
    const query = await cached(store, 'h-1', 'gina');
    const lease = (workerOf(store) as unknown as { lease: { renew(): Promise<unknown> } }).lease;
    const renew = lease.renew;
    lease.renew = () => Promise.reject(new Error('partitioned'));
    await sleep(900 - 300 + 300);
    assert.equal(store.isLinkUp, false);
    assert.equal(store.peekState(query), undefined);
    assert.ok(errors.some((message) => message.operation === 'heartbeat' && /no liveness heartbeat stored for 600 ms/.test(message.error.message)));
    lease.renew = renew; // the partition heals
    await eventually(async () => assert.equal(store.isLinkUp, true), 10_000);
  });

  it('a worker that dies: the tier is bypassed, calls reject with TokenStoreError, store-error says so, and a new worker takes over', async () => {
    const unhandled = trackUnhandledRejections();
    try {
      const store = await open();
      await store.add(entry('w-1', 'frank'));
      const query = { jti: 'w-1', identity: 'frank' };
      await store.inspect(query);
      const pending = store.inspect({ jti: 'w-unknown', identity: 'frank' });
      await workerOf(store).worker!.terminate();
      await assert.rejects(pending, TokenStoreError);
      assert.equal(store.isLinkUp, false);
      assert.equal(store.peekState(query), undefined);
      await assert.rejects(store.find('w-1'), TokenStoreError);
      assert.ok(errors.some((message) => message.operation === 'worker' && /exited/.test(message.error.message)));
      await eventually(async () => assert.equal(store.isLinkUp, true), 10_000);
      assert.equal((await store.find('w-1'))?.revoked, false);
      assert.deepEqual(unhandled.reasons, []);
    } finally {
      unhandled.stop();
    }
  });

  it('close() ends the worker and its connections; calls after it reject', async () => {
    const clients = async () => (await admin.client('LIST') as string).trim().split('\n').length;
    const baseline = await clients();
    const store = await open();
    assert.equal(await clients(), baseline + 2);
    const worker = workerOf(store).worker!;
    let exited = false;
    worker.once('exit', () => (exited = true));
    const first = store.close();
    await store.close(); // a second call resolves once the thread is gone, as the first does
    assert.equal(exited, true);
    await first;
    stores.splice(stores.indexOf(store), 1);
    await eventually(async () => assert.equal(await clients(), baseline));
    await assert.rejects(store.find('x'), TokenStoreError);
    assert.equal(store.isLinkUp, false);
  });

  it("a password in the URL is never printed, nor published with the worker's errors", async function () {
    requireRedis(this, true);
    const secretServer = new RedisServer(await freePort(), [], { password: 'the-right-password-8c1f' });
    await secretServer.start();
    try {
      const wrong = secretServer.url.replace('the-right-password-8c1f', 'a-wrong-password-51d2');
      const store = new TieredTokenStore({ redis: wrong, keyPrefix: prefix, redisThread: 'worker', commandTimeoutMs: 300 });
      stores.push(store);
      await assert.rejects(store.find('x'), TokenStoreError);
      await eventually(async () => assert.ok(errors.length > 0));
      const published = errors.map((message) => inspect(message, { depth: 10 }) + JSON.stringify(message.error) + String(message.error.stack));
      const hidden = inspect(store, { depth: 10, showHidden: true, customInspect: false });
      for (const text of [...published, inspect(store, { depth: 10 }), hidden, JSON.stringify(store)]) {
        assert.doesNotMatch(text, /a-wrong-password-51d2/);
      }
      const right = await open({ redis: secretServer.url });
      assert.doesNotMatch(inspect(right, { depth: 10, showHidden: true, customInspect: false }) + JSON.stringify(right), /the-right-password-8c1f/);
    } finally {
      await Promise.all(stores.splice(0).map((store) => store.close()));
      await secretServer.stop();
    }
  });
});
