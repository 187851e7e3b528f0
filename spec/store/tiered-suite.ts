/** The TieredTokenStore behaviours, defined once and run on standalone Redis and on a Cluster. */
import assert from 'node:assert/strict';
import { Cluster } from 'ioredis';
import { TokenStoreError } from '../../src/core/errors';
import { RedisTokenStore } from '../../src/store/redis';
import { TieredTokenStore, type TieredTokenStoreOptions } from '../../src/store/tiered';
import { commandCalls, sleep, trackUnhandledRejections } from '../support/redis';
import { type RedisEnv, entry, useRedisEnv } from './redis-env';
import { eventually } from './redis-suite';

/**
 * Wraps a store read so that its first call is answered by Redis and then held until
 * `release()`: a read that was answered before something happened but is delivered after it.
 */
function holdFirstRead<A extends unknown[], R>(read: (...args: A) => Promise<R>) {
  let answered!: () => void;
  const readAnswered = new Promise<void>((resolve) => (answered = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const held = async (...args: A): Promise<R> => {
    calls += 1;
    const result = await read(...args);
    if (calls === 1) {
      answered();
      await released;
    }
    return result;
  };
  return { held, readAnswered, release, calls: () => calls };
}

export function defineTieredSuite(setup: (ctx: Mocha.Context) => Promise<RedisEnv>): void {
  const redis = useRedisEnv(setup);
  /** One "app instance": a tiered store on its own connection, link up. */
  const instance = async (extra: Partial<TieredTokenStoreOptions> = {}) => {
    const store = redis.track(new TieredTokenStore({ redis: redis.env.connection(), keyPrefix: redis.prefix, ...extra }));
    await eventually(async () => assert.equal(store.isLinkUp, true));
    return store;
  };
  const masters = () => (redis.env.admin instanceof Cluster ? redis.env.admin.nodes('master') : [redis.env.admin]);
  /** How many invalidations (and link drops) the store has heard of: private, read to know one arrived. */
  const epochOf = (store: TieredTokenStore) => (store as unknown as { epoch: number }).epoch;
  /** Commands served by every master, but the ones the test itself or the link's upkeep sends. */
  const dataCommands = async () => {
    const infos = await Promise.all(masters().map((node) => node.info('commandstats')));
    const upkeep = new Set(['info', 'ping', 'publish', 'subscribe', 'client', 'cluster', 'command', 'config', 'select', 'readonly']);
    return infos
      .flatMap((info) => [...info.matchAll(/cmdstat_([a-z]+)[|:][^\n]*?calls=(\d+)/g)])
      .filter(([, command]) => !upkeep.has(command))
      .reduce((sum, [, , calls]) => sum + Number(calls), 0);
  };
  const subscribers = async (channel: string) => {
    const counts = await Promise.all(masters().map((node) => node.pubsub('NUMSUB', channel)));
    return counts.reduce((sum, reply) => sum + Number((reply as [string, number])[1]), 0);
  };


  it('serves repeated finds from the local tier, without a Redis round trip', async () => {
    const b = await instance();
    await b.add(entry('jti-1', 'alice'));
    assert.equal((await b.find('jti-1'))?.revoked, false);
    const gets = await commandCalls(redis.env.admin, 'get');
    for (let i = 0; i < 10; i += 1) assert.equal((await b.find('jti-1'))?.revoked, false);
    assert.equal(await commandCalls(redis.env.admin, 'get'), gets);
  });

  // A change reaches the other instance through the invalidation channel, not by its entry expiring:
  // the wait is far below ttlMs (5 s by default). How fast (about 1 ms here) is the bench's
  // propagation figure; a fixed wait in a test fails on a loaded machine.
  it("obeys another instance's revoke and unrevoke through the invalidation channel, long before ttlMs", async () => {
    const a = await instance();
    const b = await instance({ ttlMs: 60_000 });
    await a.add(entry('jti-1', 'alice'));
    assert.equal((await b.find('jti-1'))?.revoked, false); // B caches "not revoked"
    await a.setRevoked('jti-1', true);
    await eventually(async () => assert.equal((await b.find('jti-1'))?.revoked, true), 2000);
    await a.setRevoked('jti-1', false);
    await eventually(async () => assert.equal((await b.find('jti-1'))?.revoked, false), 2000);
  });

  it('obeys a revoke made through a plain RedisTokenStore', async () => {
    const b = await instance({ ttlMs: 60_000 });
    const plain = redis.track(new RedisTokenStore({ redis: redis.env.connection(), keyPrefix: redis.prefix }));
    await plain.add(entry('jti-1', 'alice'));
    assert.equal((await b.find('jti-1'))?.revoked, false);
    await plain.setRevoked('jti-1', true);
    await eventually(async () => assert.equal((await b.find('jti-1'))?.revoked, true), 2000);
  });

  it('obeys a bare-jti invalidation, as a 0.1 instance publishes it (rolling upgrade)', async () => {
    const b = await instance();
    await b.add(entry('jti-1', 'alice'));
    assert.equal((await b.find('jti-1'))?.revoked, false);
    const key = b.redisStore.keys.token('jti-1');
    const raw = (await redis.env.admin.get(key)) as string;
    await redis.env.admin.set(key, raw.replace('"revoked":false', '"revoked":true'), 'KEEPTTL');
    await redis.env.admin.publish(b.redisStore.keys.channel, 'jti-1');
    await eventually(async () => assert.equal((await b.find('jti-1'))?.revoked, true), 1000);
  });

  it('does not cache an unknown jti', async () => {
    const a = await instance();
    const b = await instance();
    assert.equal(await b.find('jti-1'), undefined);
    await a.add(entry('jti-1', 'alice'));
    assert.equal((await b.find('jti-1'))?.token.sub, 'alice');
  });

  it('does not cache a read that was in flight when an invalidation arrived', async () => {
    const a = await instance();
    const b = await instance();
    await a.add(entry('jti-1', 'alice'));
    const redisFind = b.redisStore.find.bind(b.redisStore);
    const hold = holdFirstRead(redisFind); // answered before the revoke, delivered after its invalidation
    b.redisStore.find = hold.held;
    const inFlight = b.find('jti-1');
    await hold.readAnswered;
    const before = epochOf(b);
    await a.setRevoked('jti-1', true);
    // B has heard of the invalidation (a find would race the one in flight, so its counter is read)
    await eventually(async () => assert.ok(epochOf(b) > before, 'the invalidation has not reached B'), 2000);
    hold.release();
    assert.equal((await inFlight)?.revoked, false);
    b.redisStore.find = redisFind;
    assert.equal((await b.find('jti-1'))?.revoked, true);
  });

  it('concurrent reads of a token the tier does not hold share one Redis read', async () => {
    const b = await instance();
    await b.add(entry('jti-1', 'alice'));
    await b.add(entry('jti-2', 'bob'));
    let before = await dataCommands();
    await b.inspect({ jti: 'jti-1', identity: 'alice' });
    const one = (await dataCommands()) - before;
    before = await dataCommands();
    const states = await Promise.all(Array.from({ length: 20 }, () => b.inspect({ jti: 'jti-2', identity: 'bob' })));
    const twenty = (await dataCommands()) - before;
    assert.ok(one > 0, 'a read of an uncached token goes to Redis');
    assert.equal(twenty, one, `20 concurrent reads sent ${twenty} commands, one read ${one}`);
    for (const state of states) assert.equal(state.record?.token.sub, 'bob');
    assert.notEqual(states[1], states[2]); // each caller gets its own copy
  });

  it('does not share a read begun before an invalidation with a request after it', async () => {
    const a = await instance();
    const b = await instance();
    await a.add(entry('jti-1', 'alice'));
    const hold = holdFirstRead(b.redisStore.inspect.bind(b.redisStore)); // answered before the revoke, held until after it
    b.redisStore.inspect = hold.held;
    const query = { jti: 'jti-1', identity: 'alice' };
    const early = b.inspect(query);
    await hold.readAnswered;
    const before = epochOf(b);
    await a.setRevoked('jti-1', true);
    await eventually(async () => assert.ok(epochOf(b) > before, 'the invalidation has not reached B'), 2000);
    const late = await b.inspect(query); // must not wait for the early read, nor take its answer
    assert.equal(late.record?.revoked, true);
    hold.release();
    assert.equal((await early).record?.revoked, false);
    assert.equal(hold.calls(), 2);
  });

  it('forgets a local entry after ttlMs (the bound for changes made behind its back)', async () => {
    const b = await instance({ ttlMs: 300 });
    await b.add(entry('jti-1', 'alice'));
    await b.find('jti-1');
    const key = b.redisStore.keys.token('jti-1');
    const raw = (await redis.env.admin.get(key)) as string;
    await redis.env.admin.set(key, raw.replace('"revoked":false', '"revoked":true'), 'KEEPTTL'); // no publish
    assert.equal((await b.find('jti-1'))?.revoked, false);
    await sleep(350);
    assert.equal((await b.find('jti-1'))?.revoked, true);
  });

  it("never keeps a local entry past the token's exp", async () => {
    const b = await instance({ ttlMs: 30_000 });
    await b.add(entry('jti-1', 'alice', 1));
    assert.equal((await b.find('jti-1'))?.token.sub, 'alice');
    await sleep(2100);
    assert.equal(await b.find('jti-1'), undefined);
  });

  // A tier hit remembers, in the record's entry, the cut-off it was judged with (one lookup per hit,
  // not two). The refused side: that memory must never outlive a change of the cut-off.
  describe('the cut-off a record remembers', () => {
    const query = (jti: string, identity: string) => ({ jti, identity });
    /** Fills the tier for `jti` and judges it twice from the tier (the second hit uses the remembered cut-off). */
    const cached = (store: TieredTokenStore, jti: string, identity: string) => eventually(async () => {
      await store.inspect(query(jti, identity)); // not cached when an invalidation (a test's own revokeAll) arrives meanwhile: again
      assert.equal(store.peekState(query(jti, identity))?.cutoff, 0);
      assert.equal(store.peekState(query(jti, identity))?.cutoff, 0);
    });
    /** What the tier answers at once, else what Redis does: the cut-off a request would be judged by. */
    const judgedCutoff = async (store: TieredTokenStore, jti: string, identity: string) =>
      (store.peekState(query(jti, identity)) ?? (await store.inspect(query(jti, identity)))).cutoff;

    it("follows another instance's revokeAllTokens as soon as it resolves", async () => {
      const a = await instance();
      const b = await instance({ ttlMs: 60_000 });
      await a.add(entry('jti-1', 'alice'));
      await cached(b, 'jti-1', 'alice');
      const cutoff = await a.revokeAll('alice', undefined);
      assert.ok(cutoff > 0);
      assert.equal(b.peekState(query('jti-1', 'alice')), undefined); // dropped, not served from the record's memory
      assert.equal(await judgedCutoff(b, 'jti-1', 'alice'), cutoff);
    });

    it('is not used for a query of another identity with the same jti', async () => {
      const b = await instance({ ttlMs: 60_000 });
      await b.add(entry('jti-1', 'alice'));
      const bobs = await b.revokeAll('bob', undefined);
      await cached(b, 'jti-1', 'alice');
      assert.equal(await judgedCutoff(b, 'jti-1', 'bob'), bobs);
      assert.equal(await judgedCutoff(b, 'jti-1', 'alice'), 0);
      assert.equal(await judgedCutoff(b, 'jti-1', 'bob'), bobs);
    });

    it('follows revokeAllTokens after the cut-offs map evicted the identity (the record kept its memory)', async () => {
      const a = await instance();
      const b = await instance({ ttlMs: 60_000, max: 2 });
      for (const [jti, who] of [['a-1', 'alice'], ['c-1', 'carol'], ['d-1', 'dave']]) await a.add(entry(jti, who));
      await cached(b, 'a-1', 'alice');
      await cached(b, 'c-1', 'carol');
      assert.equal(b.peekState(query('a-1', 'alice'))?.cutoff, 0); // a-1 is the newest record; alice's cut-off, untouched, the oldest
      await b.inspect(query('d-1', 'dave')); // evicts c-1 from the records, alice from the cut-offs
      assert.equal(b.peekState(query('c-1', 'carol')), undefined);
      assert.equal(b.peekState(query('a-1', 'alice'))?.cutoff, 0); // still answered: from the record's memory
      const cutoff = await a.revokeAll('alice', undefined);
      assert.equal(b.peekState(query('a-1', 'alice')), undefined);
      assert.equal(await judgedCutoff(b, 'a-1', 'alice'), cutoff);
    });

    it('gives way to a newer cut-off a miss brought in before the invalidation arrived', async () => {
      const a = await instance({ confirmTimeoutMs: 50 });
      const b = await instance({ ttlMs: 60_000 });
      await a.add(entry('jti-1', 'alice'));
      await a.add(entry('jti-2', 'alice'));
      await cached(b, 'jti-1', 'alice');
      // B hears nothing for now: its invalidations are late (a slow subscriber connection)
      const late: Array<[string, string]> = [];
      const heard = (b as unknown as { heard: (channel: string, message: string) => void }).heard;
      (b as unknown as { heard: (channel: string, message: string) => void }).heard = (channel, message) => void late.push([channel, message]);
      const cutoff = await a.revokeAll('alice', undefined); // unconfirmed by B: resolves after 50 ms
      assert.equal(await judgedCutoff(b, 'jti-2', 'alice'), cutoff); // a miss: B's tier now holds alice's new cut-off
      assert.equal(await judgedCutoff(b, 'jti-1', 'alice'), cutoff); // the record's remembered one is older: not used
      (b as unknown as { heard: typeof heard }).heard = heard;
      for (const [channel, message] of late) heard.call(b, channel, message);
    });

    it('is void after a link drop (the tier is flushed; nothing is answered from it until it is filled again)', async () => {
      const a = await instance();
      const b = await instance({ ttlMs: 60_000 });
      await a.add(entry('jti-1', 'alice'));
      await cached(b, 'jti-1', 'alice');
      await Promise.all(masters().map((node) => node.client('KILL', 'TYPE', 'pubsub')));
      await eventually(async () => assert.equal(b.peekState(query('jti-1', 'alice')), undefined));
      const cutoff = await a.revokeAll('alice', undefined); // B may not be subscribed: it may never hear of this
      assert.equal(await judgedCutoff(b, 'jti-1', 'alice'), cutoff);
    });
  });

  it('flushes the local tier when the invalidation link is cut', async () => {
    const a = await instance();
    const b = await instance();
    await a.add(entry('jti-1', 'alice'));
    assert.equal((await b.find('jti-1'))?.revoked, false);
    await Promise.all(masters().map((node) => node.client('KILL', 'TYPE', 'pubsub')));
    await sleep(20);
    await a.setRevoked('jti-1', true); // B is not subscribed: it never hears of this
    assert.equal((await b.find('jti-1'))?.revoked, true);
    await eventually(async () => assert.equal(b.isLinkUp && a.isLinkUp, true));
    assert.equal((await b.find('jti-1'))?.revoked, true);
    await a.setRevoked('jti-1', false);
    await eventually(async () => assert.equal((await b.find('jti-1'))?.revoked, false), 2000);
  });

  // outside attack helper-44: a subscription finished for a connection that closed since turned the tier back on
  // while the next connection's SUBSCRIBE was still unanswered (a revoked token 200 for 2.2 s on that instance)
  it('keeps the tier off while the current subscriber connection has not subscribed, whatever an older one finishes', async () => {
    const proto = TieredTokenStore.prototype as unknown as { createSubscriber(): import('ioredis').Redis };
    const create = proto.createSubscriber;
    let subscriber: import('ioredis').Redis | undefined;
    proto.createSubscriber = function captured(this: unknown) {
      return (subscriber = create.call(this));
    };
    let b: TieredTokenStore;
    try {
      // a Cluster replaces a subscriber still down after commandTimeoutMs: not within this test,
      // whose connections must stay the same subscriber's, even on a loaded machine
      b = await instance({ commandTimeoutMs: 15_000 });
    } finally {
      proto.createSubscriber = create;
    }
    const confirmer = (b as unknown as { confirmer: { beat(): Promise<unknown> } }).confirmer;
    const beat = confirmer.beat.bind(confirmer);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let beats = 0;
    confirmer.beat = () => {
      beats += 1;
      return held.then(beat);
    };
    const closes = () => new Promise<void>((resolve) => subscriber!.once('close', () => resolve()));
    // connection 2: subscribes, then its liveness beat is held
    let closed = closes();
    subscriber!.disconnect(true);
    await closed;
    await eventually(async () => assert.ok(beats >= 1));
    assert.equal(b.isLinkUp, false);
    // connection 3: its SUBSCRIBE never answers
    subscriber!.subscribe = (() => new Promise(() => undefined)) as never;
    closed = closes();
    subscriber!.disconnect(true);
    await closed;
    await eventually(async () => assert.equal(subscriber!.status, 'ready'));
    release(); // connection 2's chain finishes now
    await sleep(100);
    assert.equal(b.isLinkUp, false);
  });

  it('rejects (does not answer from the tier) while Redis is down, and comes back by itself', async function () {
    if (!redis.env.canRestart) this.skip();
    const unhandled = trackUnhandledRejections();
    const b = await instance({ commandTimeoutMs: 500 });
    await b.add(entry('jti-1', 'alice'));
    await b.find('jti-1');
    await redis.env.stop();
    try {
      // The tier is bypassed from the moment the subscriber sees its connection close.
      await eventually(async () => assert.equal(b.isLinkUp, false), 1000);
      for (const call of [() => b.find('jti-1'), () => b.setRevoked('jti-1', true)]) {
        const started = Date.now();
        await assert.rejects(call(), TokenStoreError);
        assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
      }
    } finally {
      await redis.env.start();
    }
    await eventually(async () => assert.equal(b.isLinkUp, true), 15_000);
    await b.add(entry('jti-2', 'bob'));
    const a = await instance();
    assert.equal((await b.find('jti-2'))?.revoked, false);
    await a.setRevoked('jti-2', true);
    await eventually(async () => assert.equal((await b.find('jti-2'))?.revoked, true), 2000);
    unhandled.stop();
    assert.deepEqual(unhandled.reasons, []);
  });

  it('closes both of its connections', async () => {
    const connection = redis.env.connection();
    const b = redis.track(new TieredTokenStore({ redis: connection, keyPrefix: redis.prefix }));
    await eventually(async () => assert.equal(b.isLinkUp, true));
    const channel = b.redisStore.keys.channel;
    assert.equal(await subscribers(channel), 1);
    const clients = async () => (await Promise.all(masters().map((node) => node.client('LIST') as Promise<string>))).join('').trim().split('\n').length;
    const before = await clients();
    await b.close();
    await eventually(async () => assert.equal(await subscribers(channel), 0));
    if (typeof connection === 'string') {
      // from a URL the store's client is its own: it is quit with the subscriber
      await eventually(async () => assert.equal(await clients(), before - 2));
    } else {
      await eventually(async () => assert.equal(connection.status, 'ready')); // a passed-in client stays open
    }
  });
}
