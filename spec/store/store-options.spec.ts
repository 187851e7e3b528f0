/**
 * Issue 21 finding 5: a store's options are checked when it is constructed, every problem listed
 * in one `JwtConfigurationError` (as `configure()` does), never a store that silently misbehaves:
 * `max: 0` refusing every token, a `NaN` bound that never holds, a timeout past 2^31 - 1 ms that
 * Node's timers fire at once. A refused construction makes no connection.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { JwtConfigurationError, MemoryTokenStore, RedisTokenStore, TieredTokenStore } from '../../src';
import type { StoreEntry, TokenPayload } from '../../src/store/token-store';
import { standaloneEnv, type RedisEnv } from './redis-env';

function problemsOf(construct: () => unknown): string[] {
  try {
    construct();
  } catch (error) {
    assert.ok(error instanceof JwtConfigurationError, String(error));
    return error.problems;
  }
  assert.fail('the store accepted the options');
}

/** Bad whole numbers, each with how the problem shows it. */
const BAD_COUNTS: Array<[unknown, string]> = [
  [0, '0'], [-1, '-1'], [Number.NaN, 'NaN'], [Infinity, 'Infinity'], [1.5, '1.5'], ['100', "'100'"], [null, 'null'], [true, 'boolean'],
];
const BAD_TIMEOUTS: Array<[unknown, string]> = [...BAD_COUNTS, [2 ** 31, String(2 ** 31)]];

describe('store options are checked at construction (issue 21 finding 5)', function () {
  this.timeout(30_000);

  describe('MemoryTokenStore', () => {
    for (const name of ['max', 'maxPerIdentity'] as const) {
      for (const [value, shown] of BAD_COUNTS) it(`${name}: ${shown} is refused`, () => {
        assert.deepEqual(problemsOf(() => new MemoryTokenStore({ [name]: value } as never)), [
          `MemoryTokenStore option ${name} must be a whole number >= 1, got ${shown}`,
        ]);
      });
    }

    it('lists every problem at once, an unknown option among them', () => {
      assert.deepEqual(problemsOf(() => new MemoryTokenStore({ max: 0, maxPerIdentity: Number.NaN, maxPerIdentty: 5 } as never)), [
        "unknown MemoryTokenStore option 'maxPerIdentty'",
        'MemoryTokenStore option max must be a whole number >= 1, got 0',
        'MemoryTokenStore option maxPerIdentity must be a whole number >= 1, got NaN',
      ]);
    });

    it('options that are not an object are refused', () => {
      for (const options of [null, 'big', 5, []]) assert.equal(problemsOf(() => new MemoryTokenStore(options as never)).length, 1);
    });

    it('the smallest good bounds are accepted, and hold', async () => {
      const store = new MemoryTokenStore({ max: 1, maxPerIdentity: 1 });
      assert.deepEqual([store.max, store.maxPerIdentity], [1, 1]);
      const entry = (jti: string, identity: string): StoreEntry => ({ jti, identity, expiresAt: Date.now() / 1000 + 60, record: { token: { jti } as TokenPayload, revoked: false } });
      await store.add(entry('a', 'alice'));
      await store.add(entry('b', 'alice')); // alice's own older record goes
      assert.deepEqual([await store.find('a'), (await store.find('b'))?.revoked], [undefined, false]);
      await assert.rejects(store.add(entry('c', 'bob')), { status: 503 }); // full: never alice's record for bob
      const defaults = new MemoryTokenStore();
      assert.deepEqual([defaults.max, defaults.maxPerIdentity], [100_000, 100]);
    });
  });

  describe('RedisTokenStore and TieredTokenStore', () => {
    let env: RedisEnv;
    let listener: net.Server;
    let connections = 0;
    let url: string;
    before(async function () {
      env = await standaloneEnv(this);
      // a port that counts connections: a refused construction must make none
      listener = net.createServer((socket) => { connections += 1; socket.destroy(); });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      url = `redis://127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
    });
    after(async () => {
      listener?.close();
      await env?.teardown();
    });
    afterEach(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(connections, 0, 'a refused construction connected to Redis');
    });

    for (const [store, construct] of [
      ['RedisTokenStore', (options: object) => new RedisTokenStore(options as never)],
      ['TieredTokenStore', (options: object) => new TieredTokenStore(options as never)],
    ] as const) {
      for (const [value, shown] of BAD_TIMEOUTS) it(`${store} commandTimeoutMs: ${shown} is refused`, () => {
        assert.deepEqual(problemsOf(() => construct({ redis: url, commandTimeoutMs: value })), [
          `${store} option commandTimeoutMs must be a whole number of ms from 1 to 2147483647, got ${shown}`,
        ]);
      });

      it(`${store}: a missing or wrong redis, a keyPrefix that is not a string and an unknown option, listed at once`, () => {
        assert.deepEqual(problemsOf(() => construct({ keyPrefix: 7, ttl: 5 })), [
          `unknown ${store} option 'ttl'`,
          `${store} option redis must be a redis:// URL or an ioredis client (Redis or Cluster), got undefined`,
          `${store} option keyPrefix must be a string, got number`,
        ]);
        for (const redis of ['', {}, 6379, null]) assert.equal(problemsOf(() => construct({ redis })).length, 1);
        assert.equal(problemsOf(() => construct(undefined as never)).length, 1);
      });
    }

    for (const name of ['max', 'ttlMs', 'confirmTimeoutMs'] as const) {
      for (const [value, shown] of name === 'max' ? BAD_COUNTS : BAD_TIMEOUTS) it(`TieredTokenStore ${name}: ${shown} is refused`, () => {
        const rule = name === 'max' ? 'must be a whole number >= 1' : 'must be a whole number of ms from 1 to 2147483647';
        assert.deepEqual(problemsOf(() => new TieredTokenStore({ redis: url, [name]: value })), [`TieredTokenStore option ${name} ${rule}, got ${shown}`]);
      });
    }

    it('TieredTokenStore lists every problem at once', () => {
      assert.deepEqual(problemsOf(() => new TieredTokenStore({ redis: url, max: 0, ttlMs: -1, confirmTimeoutMs: Infinity, commandTimeoutMs: 1.5 })), [
        'TieredTokenStore option commandTimeoutMs must be a whole number of ms from 1 to 2147483647, got 1.5',
        'TieredTokenStore option max must be a whole number >= 1, got 0',
        'TieredTokenStore option ttlMs must be a whole number of ms from 1 to 2147483647, got -1',
        'TieredTokenStore option confirmTimeoutMs must be a whole number of ms from 1 to 2147483647, got Infinity',
      ]);
    });

    it('good options are accepted and work against a real Redis (a URL and a client)', async () => {
      const real = env.connection() as string;
      const redisStore = new RedisTokenStore({ redis: real, keyPrefix: 'opts:', commandTimeoutMs: 1 + 999 });
      const tiered = new TieredTokenStore({ redis: real, keyPrefix: 'opts:', max: 1, ttlMs: 1000, confirmTimeoutMs: 1, commandTimeoutMs: 1000 });
      const onClient = new RedisTokenStore({ redis: env.admin as never });
      try {
        const entry: StoreEntry = { jti: 'j', identity: 'alice', expiresAt: Date.now() / 1000 + 60, record: { token: { jti: 'j' } as TokenPayload, revoked: false } };
        await redisStore.add(entry);
        assert.equal((await tiered.find('j'))?.revoked, false);
        assert.equal(await onClient.find('j'), undefined); // another prefix
      } finally {
        await Promise.all([redisStore.close(), tiered.close(), onClient.close()]);
      }
    });
  });
});
