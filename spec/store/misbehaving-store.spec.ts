/**
 * THREATS.md "the contract of a plug-in" (DESIGN 0.3 G): a custom store whose methods break the
 * `TokenStore` interface fails closed. One method misbehaves at a time (throws, rejects, a thenable
 * that rejects or whose `then` throws, a promise from a synchronous method, answers of the wrong
 * shape); every request is answered 503 `Token revocation store unavailable` over HTTP, never
 * allowed, never a 500, and the process sees no unhandled rejection.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import {
  createAccessToken, createRefreshToken, createTokenPair, decodeToken, JwtManager, jwtRequired, MemoryTokenStore, RedisTokenStore, revokeToken, rotateRefreshToken,
  TieredTokenStore,
} from '../../src';
import type { RevocationMode, TokenStore } from '../../src';
import type { RefreshTokenUse, StoreEntry, TokenQuery, TokenState } from '../../src/store/token-store';
import { requireRedis, StandaloneRedis, startStandalone } from '../support/redis';

const SECRET = 'misbehaving-store-secret-0123456789-abcdef';
const UNAVAILABLE = { msg: 'Token revocation store unavailable' };

type Misbehaviour = (...args: unknown[]) => unknown;

/** A memory store behind a proxy: `misbehave(method, how)` replaces one method; the store's own calls stay real. */
function proxiedStore(options: { legacy: boolean }) {
  const inner = new MemoryTokenStore();
  const hidden = options.legacy ? new Set(['inspect', 'peekState', 'cutoff', 'revokeAll', 'useRefreshToken', 'revokeFamily']) : new Set<string>();
  const replaced = new Map<string | symbol, Misbehaviour>();
  const throwingReads = new Set<string | symbol>();
  const store = new Proxy(inner, {
    get(target, property) {
      if (throwingReads.has(property)) throw new Error(`reading ${String(property)} broke (a lazily connected store)`);
      if (typeof property === 'string' && hidden.has(property)) return undefined;
      if (replaced.has(property)) return replaced.get(property);
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has(target, property) {
      return !(typeof property === 'string' && hidden.has(property)) && Reflect.has(target, property);
    },
  }) as unknown as TokenStore;
  return {
    store,
    misbehave(method: string, how: Misbehaviour | undefined) {
      if (how === undefined) replaced.delete(method);
      else replaced.set(method, how);
    },
    /** Reading `method` off the store throws (an accessor, a Proxy wrapper), from now on or (`false`) no more. */
    throwOnRead(method: string, on = true) {
      if (on) throwingReads.add(method);
      else throwingReads.delete(method);
    },
  };
}

const boom = () => new Error('the custom store broke');
/** Ways any method can break its contract. */
const ALWAYS: Record<string, Misbehaviour> = {
  'throws': () => { throw boom(); },
  'returns a rejected promise': () => Promise.reject(boom()),
  'returns a thenable that rejects': () => ({ then: (_: unknown, reject: (e: unknown) => void) => reject(boom()) }),
  'returns a thenable whose then throws': () => ({ then: () => { throw boom(); } }),
  'returns a thenable whose then getter throws': () => ({ get then() { throw boom(); } }),
};
/** Wrong shapes for a method answering a record (`peek`, `find`). */
const RECORD_SHAPES: Record<string, unknown> = {
  'null': null, 'a number': 42, 'a string': 'revoked', 'an array': [], 'an empty object': {},
  'revoked as a string': { token: {}, revoked: 'true' }, 'no token': { revoked: false },
  'a field the interface does not define': { token: {}, revoked: false, revokedAt: 1 },
  'a token that is an array': { token: [], revoked: false },
};
/** Wrong shapes for a method answering a TokenState (`peekState`, `inspect`). */
const STATE_SHAPES: Record<string, unknown> = {
  'null': null, 'a number': 0, 'a string': 'ok', 'an empty object': {},
  'a cut-off as a string': { record: { token: {}, revoked: false }, cutoff: '0', family: undefined },
  'a negative cut-off': { record: { token: {}, revoked: false }, cutoff: -1, family: undefined },
  'a NaN cut-off': { record: { token: {}, revoked: false }, cutoff: Number.NaN, family: undefined },
  'a bad record': { record: { token: {}, revoked: 'no' }, cutoff: 0, family: undefined },
  'a bad family': { record: { token: {}, revoked: false }, cutoff: 0, family: { revoked: 'false', usedAt: undefined } },
  'a field the interface does not define': { record: undefined, cutoff: 0, family: undefined, revokedAll: true },
  'a record with an extra field': { record: { token: {}, revoked: false, status: 'revoked' }, cutoff: 0, family: undefined },
  'a family state for a query naming none': { record: { token: {}, revoked: false }, cutoff: 0, family: { revoked: false, usedAt: undefined } },
};
/** Wrong TokenStates for a refresh token's query (it names a family). */
const FAMILY_STATE_SHAPES: Record<string, unknown> = {
  'no family state for a query naming one': { record: { token: {}, revoked: false }, cutoff: 0, family: undefined },
  'a family with an extra field': { record: { token: {}, revoked: false }, cutoff: 0, family: { revoked: false, usedAt: undefined, reused: true } },
  'a negative usedAt': { record: { token: {}, revoked: false }, cutoff: 0, family: { revoked: false, usedAt: -1 } },
  'an infinite usedAt': { record: { token: {}, revoked: false }, cutoff: 0, family: { revoked: false, usedAt: Infinity } },
};
/** Synchronous methods handing back a promise or thenable, even of a good answer. */
const SYNC_PROMISES: Record<string, (good: unknown) => Misbehaviour> = {
  'returns a promise of a good answer': (good) => () => Promise.resolve(good),
  'returns a rejected promise': () => () => Promise.reject(boom()),
  'returns a promise that never settles': () => () => new Promise(() => {}),
  'returns a thenable of a good answer': (good) => () => ({ then: (resolve: (v: unknown) => void) => resolve(good) }),
};

function startApp(store: TokenStore, mode: RevocationMode, legacy: boolean, storeTimeoutMs?: number): Server {
  JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', mode, refreshRotation: !legacy, storeTimeoutMs } });
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const failure = error as { status?: number; toJSON?: () => unknown };
      ctx.status = failure.status ?? 500;
      ctx.body = failure.toJSON?.() ?? { msg: 'internal' };
    }
  });
  const router = new Router();
  router.get('/protected', jwtRequired(), (ctx) => { ctx.body = { ok: true }; });
  router.post('/login', async (ctx) => { ctx.body = { token: await createAccessToken('alice') }; });
  router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => { ctx.body = await rotateRefreshToken(); });
  router.post('/revoke/:jti', async (ctx) => {
    await revokeToken(ctx.params.jti, { identity: 'alice', expiresAt: Math.floor(Date.now() / 1000) + 600 });
    ctx.body = { revoked: true };
  });
  app.use(router.routes());
  return app.listen(0);
}

describe('a custom store that breaks the interface fails closed (0.3 G)', function () {
  this.timeout(120_000);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let server: Server | undefined;
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));
  beforeEach(() => { unhandled.length = 0; });
  afterEach(async () => {
    server?.close();
    server = undefined;
    JwtManager.reset();
    await new Promise((resolve) => setTimeout(resolve, 20)); // let any stray rejection surface
    assert.deepEqual(unhandled.map(String), [], 'unhandled rejections');
  });

  /** Each misbehaviour of `method`, one at a time: `path` is asked with a fresh token and must answer 503. */
  async function eachMisbehaviour(
    setup: { mode: RevocationMode; legacy: boolean }, method: string, ways: Record<string, Misbehaviour>,
    ask: (server: Server) => Promise<request.Response>, prepare?: (misbehave: ReturnType<typeof proxiedStore>['misbehave']) => void,
    more: Record<string, Misbehaviour> = {},
  ): Promise<void> {
    ways = { ...ways, ...more };
    const proxied = proxiedStore({ legacy: setup.legacy });
    server = startApp(proxied.store, setup.mode, setup.legacy);
    const good = await ask(server);
    assert.ok(good.status === 200, `the well-behaved store passes first: ${good.status} ${good.text}`);
    for (const [name, how] of Object.entries(ways)) {
      prepare?.(proxied.misbehave);
      proxied.misbehave(method, how);
      const res = await ask(server);
      proxied.misbehave(method, undefined);
      assert.deepEqual([res.status, res.body], [503, UNAVAILABLE], `${setup.mode}${setup.legacy ? ' legacy' : ''} ${method} ${name}: ${res.text}`);
    }
  }

  const protectedRoute = async (server: Server) => {
    const token = await createAccessToken('alice');
    return request(server).get('/protected').set('Authorization', `Bearer ${token}`);
  };
  const wrongShapes = (shapes: Record<string, unknown>, sync: boolean) =>
    Object.fromEntries(Object.entries(shapes).map(([name, value]) => [`answers ${name}`, sync ? () => value : async () => value]));
  const syncPromises = (good: unknown) =>
    Object.fromEntries(Object.entries(SYNC_PROMISES).map(([name, make]) => [name, make(good)]));
  const goodRecord = { token: { sub: 'alice' }, revoked: false };
  const refreshRoute = async (server: Server) => request(server).post('/refresh').set('Authorization', `Bearer ${await createRefreshToken('alice')}`);
  const goodState = { record: goodRecord, cutoff: 0, family: undefined };

  for (const mode of ['allowlist', 'blocklist'] as const) {
    describe(`${mode} mode`, () => {
      it('peek (a store without inspect): every misbehaviour is 503', async () => {
        await eachMisbehaviour({ mode, legacy: true }, 'peek', { ...ALWAYS, ...wrongShapes(RECORD_SHAPES, true), ...syncPromises(goodRecord) }, protectedRoute);
      });

      it('find (a store without inspect): every misbehaviour is 503', async () => {
        await eachMisbehaviour({ mode, legacy: true }, 'find', { ...ALWAYS, ...wrongShapes(RECORD_SHAPES, false) }, protectedRoute,
          (misbehave) => misbehave('peek', () => undefined)); // an honest "not in memory": find is asked
      });

      it('peekState: every misbehaviour is 503', async () => {
        await eachMisbehaviour({ mode, legacy: false }, 'peekState', { ...ALWAYS, ...wrongShapes(STATE_SHAPES, true), ...syncPromises(goodState) }, protectedRoute);
      });

      it('inspect (peekState answering undefined): every misbehaviour is 503', async () => {
        await eachMisbehaviour({ mode, legacy: false }, 'inspect', { ...ALWAYS, ...wrongShapes(STATE_SHAPES, false) }, protectedRoute,
          (misbehave) => misbehave('peekState', () => undefined)); // an honest "not in memory": inspect is asked
      });

      it('inspect of a refresh token: a family state missing, or of the wrong shape, is 503', async () => {
        await eachMisbehaviour({ mode, legacy: false }, 'inspect', wrongShapes(FAMILY_STATE_SHAPES, false), refreshRoute,
          (misbehave) => misbehave('peekState', () => undefined));
        server?.close();
        JwtManager.reset();
        await eachMisbehaviour({ mode, legacy: false }, 'peekState', wrongShapes(FAMILY_STATE_SHAPES, true), refreshRoute);
      });

      it('add and cutoff (creating a token): every failure is 503, no token handed out', async () => {
        for (const method of ['add', 'cutoff']) {
          if (mode === 'blocklist' && method === 'add') continue; // a blocklist records nothing at creation
          await eachMisbehaviour({ mode, legacy: false }, method, ALWAYS,
            async (server) => request(server).post('/login'), undefined, method === 'cutoff' ? wrongShapes({ 'a string': '1', 'a negative number': -1, 'NaN': Number.NaN, 'null': null }, false) : {});
          server?.close();
          JwtManager.reset();
        }
      });

      it('useRefreshToken (rotation): every misbehaviour is 503', async () => {
        await eachMisbehaviour({ mode, legacy: false }, 'useRefreshToken', { ...ALWAYS, ...wrongShapes({
          'null': null, 'an empty object': {}, 'an unknown outcome': { outcome: 'maybe' }, 'a retry without its answer': { outcome: 'retry' },
          'rotated with a field the interface does not define': { outcome: 'rotated', pair: 'x' }, 'reused with an answer': { outcome: 'reused', answer: 'x' },
        }, false) },
          async (server) => request(server).post('/refresh').set('Authorization', `Bearer ${await createRefreshToken('alice')}`));
      });

      it('setRevoked (revokeToken): every failure, and a record of the wrong shape, is 503', async () => {
        // blocklist: setRevoked answering something that is not "no record" would skip storing the revocation
        await eachMisbehaviour({ mode, legacy: false }, 'setRevoked', { ...ALWAYS, ...wrongShapes(RECORD_SHAPES, false) }, async (server) => {
          const jti = (await decodeToken(await createAccessToken('alice'))).jti as string;
          return request(server).post(`/revoke/${jti}`);
        });
      });

      it('add (revokeToken): every failure is 503', async () => {
        const method = mode === 'allowlist' ? 'setRevoked' : 'add';
        await eachMisbehaviour({ mode, legacy: false }, method, ALWAYS, async (server) => {
          const jti = (await decodeToken(await createAccessToken('alice'))).jti as string;
          return request(server).post(`/revoke/${jti}`);
        });
      });
    });
  }

  describe('a store property whose read throws, a getter of an answer that throws, a call that never settles', () => {
    const NEVER = () => new Promise(() => {});

    it('a read that throws at configure(): a configuration problem naming it, listed with the others', () => {
      for (const method of ['find', 'inspect', 'cutoff', 'rememberOnce']) {
        const proxied = proxiedStore({ legacy: false });
        proxied.throwOnRead(method);
        assert.throws(
          () => JwtManager.configure({ secret: SECRET, accessTokenExpires: -5, revocation: { store: proxied.store, checks: 'all' } }),
          (error: { problems?: string[] }) => {
            assert.ok(error.problems?.some((p) => p.startsWith(`revocation.store.${method} threw when read (reading ${method} broke`)), String(error.problems));
            assert.ok(error.problems!.some((p) => p.includes('accessTokenExpires')), 'the other problems are listed too');
            return true;
          },
        );
      }
    });

    for (const mode of ['allowlist', 'blocklist'] as const) {
      it(`${mode}: reads of inspect, peekState, find or peek that start throwing after configure() are 503, never 500; the same request passes before and after`, async () => {
        for (const [legacy, methods] of [[false, ['inspect', 'peekState']], [true, ['find', 'peek']]] as const) {
          const proxied = proxiedStore({ legacy });
          server = startApp(proxied.store, mode, legacy);
          for (const method of methods) {
            if (method === 'inspect') proxied.misbehave('peekState', () => undefined); // inspect is asked
            if (method === 'find') proxied.misbehave('peek', () => undefined);
            assert.equal((await protectedRoute(server)).status, 200);
            proxied.throwOnRead(method);
            const res = await protectedRoute(server);
            proxied.throwOnRead(method, false);
            proxied.misbehave('peekState', undefined);
            proxied.misbehave('peek', undefined);
            assert.deepEqual([res.status, res.body], [503, UNAVAILABLE], `${method}: ${res.text}`);
            assert.equal((await protectedRoute(server)).status, 200);
          }
          server.close();
          JwtManager.reset();
        }
      });
    }

    it('cutoff and add reads that start throwing: a new token is 503, none handed out', async () => {
      for (const method of ['cutoff', 'add']) {
        const proxied = proxiedStore({ legacy: false });
        server = startApp(proxied.store, 'allowlist', false);
        assert.equal((await request(server).post('/login')).status, 200);
        proxied.throwOnRead(method);
        const res = await request(server).post('/login');
        proxied.throwOnRead(method, false);
        assert.deepEqual([res.status, res.body], [503, UNAVAILABLE], `${method}: ${res.text}`);
        server.close();
        JwtManager.reset();
      }
    });

    it('peekState answering a record whose revoked getter throws: 503', async () => {
      const proxied = proxiedStore({ legacy: false });
      server = startApp(proxied.store, 'allowlist', false);
      proxied.misbehave('peekState', () => ({ record: { token: {}, get revoked() { throw boom(); } }, cutoff: 0, family: undefined }));
      const res = await protectedRoute(server);
      assert.deepEqual([res.status, res.body], [503, UNAVAILABLE], res.text);
    });

    it('find, inspect, cutoff, add and useRefreshToken that never settle: 503 after storeTimeoutMs, not a hung request', async () => {
      const cases: [string, boolean, (server: Server) => Promise<request.Response>, string?][] = [
        ['find', true, protectedRoute, 'peek'], ['inspect', false, protectedRoute, 'peekState'],
        ['cutoff', false, async (server) => request(server).post('/login')], ['add', false, async (server) => request(server).post('/login')],
        ['useRefreshToken', false, refreshRoute],
      ];
      for (const [method, legacy, ask, memoryTier] of cases) {
        const proxied = proxiedStore({ legacy });
        server = startApp(proxied.store, 'allowlist', legacy, 300);
        if (memoryTier) proxied.misbehave(memoryTier, () => undefined);
        assert.equal((await ask(server)).status, 200, `${method}: the well-behaved store first`);
        proxied.misbehave(method, NEVER);
        const started = Date.now();
        const res = await ask(server);
        const took = Date.now() - started;
        assert.deepEqual([res.status, res.body], [503, UNAVAILABLE], `${method}: ${res.text}`);
        assert.ok(took >= 280 && took < 3000, `${method}: answered after ${took} ms (storeTimeoutMs 300)`);
        server.close();
        JwtManager.reset();
      }
    });

    it('storeTimeoutMs is checked at configure(): 0, -1, 1.5, NaN, past 2^31-1 and strings are problems', () => {
      for (const value of [0, -1, 1.5, Number.NaN, 2 ** 31, '100']) {
        assert.throws(
          () => JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), storeTimeoutMs: value as number } }),
          (error: { problems?: string[] }) => error.problems?.some((p) => p.startsWith('revocation.storeTimeoutMs must be a whole number of milliseconds from 1 to 2147483647')) === true,
          String(value),
        );
      }
      JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), storeTimeoutMs: 250 } });
      assert.equal(JwtManager.instance.config.revocation!.storeTimeoutMs, 250);
    });
  });
});

/**
 * The guard trusts the shape of one store's synchronous answers: a `TieredTokenStore`'s own
 * `peekState` (its tier holds only what the Redis store's strict parsers built; issue 27). Trust
 * follows the store the app configured, not a method (helper-41): a subclass overriding it, an
 * object reusing `TieredTokenStore.prototype.peekState`, or a Proxy of a real tiered store is
 * checked as any custom store; a composite store whose `useRefreshToken` calls a
 * `RedisTokenStore`'s keeps its rotated pairs' records where its own `add()` puts them.
 */
describe('built-in trust goes to the configured store only (issue 27, helper-41)', function () {
  this.timeout(30_000);
  let redis: StandaloneRedis;
  let server: Server | undefined;
  before(async function () {
    requireRedis(this, true);
    redis = await startStandalone();
  });
  after(async () => { await redis?.server?.stop(); });
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });

  it("a subclass whose peekState answers the wrong shape is 503 for every wrong shape; the tiered store's own answers pass", async () => {
    let wrong: unknown;
    class Overriding extends TieredTokenStore {
      override peekState(query: TokenQuery) {
        return wrong === undefined ? super.peekState(query) : (wrong as TokenState);
      }
    }
    const store = new Overriding({ redis: redis.url, keyPrefix: 'trusted-peek:' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200)); // subscribed: the tier in use
      for (const mode of ['allowlist', 'blocklist'] as const) {
        server?.close();
        server = startApp(store, mode, false);
        const token = await createAccessToken('alice');
        const ask = () => request(server!).get('/protected').set('Authorization', `Bearer ${token}`);
        wrong = undefined;
        assert.equal((await ask()).status, 200, 'a tier miss, then');
        assert.equal((await ask()).status, 200, 'a tier hit: the subclass calls the trusted method itself');
        for (const [name, shape] of Object.entries(STATE_SHAPES)) {
          wrong = shape;
          const res = await ask();
          assert.deepEqual([res.status, res.body], [503, UNAVAILABLE], `${mode}: ${name}`);
        }
      }
    } finally {
      await store.close();
    }
  });

  it('an object borrowing the tiered peekState, with a tier of the wrong shapes, is 503 (the PoC got 200 for a revoked token, and a 500)', async () => {
    const inner = new MemoryTokenStore();
    let state: Record<string, unknown> = {};
    const held = (value: unknown) => ({ live: () => value });
    const borrowing = {
      add: inner.add.bind(inner), find: inner.find.bind(inner), setRevoked: inner.setRevoked.bind(inner),
      findByIdentity: inner.findByIdentity.bind(inner), findAll: inner.findAll.bind(inner), close: inner.close.bind(inner),
      inspect: inner.inspect.bind(inner), cutoff: inner.cutoff.bind(inner), revokeAll: inner.revokeAll.bind(inner),
      useRefreshToken: inner.useRefreshToken.bind(inner), revokeFamily: inner.revokeFamily.bind(inner),
      linkUp: true,
      lease: { usableUntil: Number.MAX_SAFE_INTEGER },
      get records() { return held({ record: state.record }); },
      get cutoffs() { return held({ cutoff: state.cutoff }); },
      families: held(undefined),
      peekState: TieredTokenStore.prototype.peekState,
    } as unknown as TokenStore;
    for (const mode of ['allowlist', 'blocklist'] as const) {
      server?.close();
      server = startApp(borrowing, mode, false);
      const token = await createAccessToken('alice');
      const ask = () => request(server!).get('/protected').set('Authorization', `Bearer ${token}`);
      state = { record: { token: { sub: 'alice' }, revoked: false }, cutoff: 0 };
      assert.equal((await ask()).status, 200, `${mode}: a tier of the right shape passes`);
      const throwing = { token: { sub: 'alice' }, get revoked(): boolean { throw new Error('boom'); } };
      for (const [name, wrong] of Object.entries({
        'an undefined cut-off': { record: state.record, cutoff: undefined }, 'a NaN cut-off': { record: state.record, cutoff: Number.NaN },
        'revoked as a string': { record: { token: { sub: 'alice' }, revoked: 'true' }, cutoff: 0 }, 'a throwing getter': { record: throwing, cutoff: 0 },
      })) {
        state = wrong;
        const res = await ask();
        assert.deepEqual([res.status, res.body], [503, UNAVAILABLE], `${mode}: ${name}`);
      }
    }
  });

  it('a Proxy of a real tiered store is checked like a custom store: a NaN cut-off its trap puts in the tier is 503 (trusted, it passed: 200)', async () => {
    const store = new TieredTokenStore({ redis: redis.url, keyPrefix: 'proxied-peek:' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      let wrong = false;
      const proxy = new Proxy(store, {
        get(target, property) {
          // the tiered method itself, run on the proxy: what it reads of `this` goes through here
          if (property === 'peekState') return TieredTokenStore.prototype.peekState;
          if (property === 'cutoffs' && wrong) return { live: () => ({ cutoff: Number.NaN, until: Infinity }) };
          // a record entry that remembers no cut-off, so the cut-offs map above is asked
          if (property === 'records' && wrong) return { live: () => ({ record: { token: { sub: 'alice' }, revoked: false }, until: Infinity, cutoff: undefined }) };
          const value = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as unknown as TokenStore;
      server = startApp(proxy, 'allowlist', false);
      const token = await createAccessToken('alice');
      const ask = () => request(server!).get('/protected').set('Authorization', `Bearer ${token}`);
      assert.equal((await ask()).status, 200);
      assert.equal((await ask()).status, 200, 'the proxy reaches the real tier');
      wrong = true;
      assert.deepEqual([(await ask()).status, (await ask()).body], [503, UNAVAILABLE]);
    } finally {
      await store.close();
    }
  });

  it("a composite store (records in its own backend, sessions in a RedisTokenStore) keeps a rotated pair's records in its backend: the pair works", async () => {
    const records = new MemoryTokenStore();
    const sessions = new RedisTokenStore({ redis: redis.url, keyPrefix: 'composite:' });
    try {
      const composite = {
        add: (entry: StoreEntry) => records.add(entry), find: (jti: string) => records.find(jti),
        setRevoked: (jti: string, revoked: boolean) => records.setRevoked(jti, revoked),
        findByIdentity: (identity: string) => records.findByIdentity(identity), findAll: () => records.findAll(), close: async () => undefined,
        async inspect(query: TokenQuery): Promise<TokenState> {
          const [record, state] = await Promise.all([records.find(query.jti), sessions.inspect(query)]);
          return { ...state, record };
        },
        cutoff: (identity: string) => sessions.cutoff(identity),
        revokeAll: (identity: string, keep: number | undefined) => sessions.revokeAll(identity, keep),
        useRefreshToken: (use: RefreshTokenUse) => sessions.useRefreshToken(use),
        revokeFamily: (family: string, keep: number | undefined) => sessions.revokeFamily(family, keep),
      } as TokenStore;
      server = startApp(composite, 'allowlist', false);
      const login = await createTokenPair('alice');
      const rotated = await request(server).post('/refresh').set('Authorization', `Bearer ${login.refreshToken}`);
      assert.equal(rotated.status, 200, rotated.text);
      const res = await request(server).get('/protected').set('Authorization', `Bearer ${rotated.body.accessToken}`);
      assert.equal(res.status, 200, `the rotated access token: ${res.text} (the PoC: 401 revoked, its records written into Redis)`);
      assert.equal((await records.findByIdentity('alice')).length, 4, 'the login pair and the rotated pair, in the backend');
      assert.deepEqual(await sessions.findByIdentity('alice'), [], 'none in Redis');
    } finally {
      await sessions.close();
    }
  });
});
