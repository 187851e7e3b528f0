/**
 * DESIGN 0.3 G "Nothing secret in logs" (THREATS.md "public objects that print secrets"): after
 * real traffic (header tokens verified and cached; cookie logins over HTTP with the CSRF double
 * submit, refresh rotation and its reuse, revocations, refusals of every kind through plain Koa and
 * the decorators; memory, Redis and tiered stores; Redis behind `requirepass`, an ACL user, a
 * Sentinel and a Cluster, and with a wrong password), everything reachable from the manager's
 * public properties (own and symbol properties, Map and Set entries), every error a refusal made
 * (thrown to the loaders and published, or caught in user code) and every payload a loader or an
 * event got is inspected with every option combination, console.log'ed and JSON.stringify'ed: none
 * shows the secret, a private key, a token, a CSRF value or a Redis password. Beside each refusal
 * its allowed request passes, and what may be shown still is (an error's payload without its csrf
 * claim, a store's key prefix and connection kind).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import { format, formatWithOptions, inspect, InspectOptions } from 'node:util';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import request, { type Response } from 'supertest';
import { Get, JsonController, Post, useKoaServer } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, decodeToken, getJwtClaims, Identity, JwtError, JwtManager, JwtOptions, jwtRequired, JwtRequired,
  MemoryTokenStore, REFUSED_CHANNEL, REUSE_CHANNEL, RedisTokenStore, revokeToken, rotateRefreshToken, setAccessCookies, setRefreshCookies,
  STORE_ERROR_CHANNEL, TieredTokenStore, TokenStore, verifyJwtInRequest,
} from '../../src';
import type { RedisConnection } from '../../src/store/redis';
import type { JwtHttpError } from '../../src/testing';
import { freePort, RedisCluster, RedisSentinel, RedisServer, requireRedis } from '../support/redis';
import { testKey } from '../support/keys';

const OPTIONS: [string, InspectOptions][] = [
  ['default', {}],
  ['depth 10, showHidden', { depth: 10, showHidden: true }],
  ['depth 10, showHidden, customInspect false', { depth: 10, showHidden: true, customInspect: false }],
  ['depth Infinity, customInspect false', { depth: Infinity, customInspect: false }],
  ['getters', { depth: 6, getters: true, showHidden: true }],
];

/** Everything reachable from `root` through own (and symbol) data properties and Map/Set entries, `root` included. */
function reachable(root: object, limit = 20_000): object[] {
  const seen = new Set<object>([root]);
  const queue: object[] = [root];
  const visit = (value: unknown) => {
    if ((typeof value === 'object' || typeof value === 'function') && value !== null && !seen.has(value) && seen.size < limit) {
      seen.add(value);
      queue.push(value);
    }
  };
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const key of Reflect.ownKeys(current)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(current, key);
      if (descriptor && 'value' in descriptor) visit(descriptor.value);
    }
    if (current instanceof Map) for (const [key, value] of current) { visit(key); visit(value); }
    if (current instanceof Set) for (const value of current) visit(value);
  }
  return [...seen];
}

/** Every way an object ends up in a log line. */
function printed(value: object): string[] {
  const out = OPTIONS.map(([, options]) => inspect(value, options));
  out.push(format('%s %o %O', value, value, value), formatWithOptions({ showHidden: true, depth: 8 }, '%O', value));
  try {
    out.push(format('%j', value), String(JSON.stringify(value)));
  } catch {
    // a BigInt (an RSA key's publicExponent): JSON.stringify prints nothing then
  }
  return out;
}

function assertNothingSecret(roots: Record<string, object>, secrets: Record<string, string>): void {
  assert.ok(Object.keys(secrets).length > 0);
  const leaks: string[] = [];
  for (const [rootName, root] of Object.entries(roots)) {
    const objects = reachable(root);
    for (const [index, object] of objects.entries()) {
      for (const text of printed(object)) {
        for (const [name, secret] of Object.entries(secrets)) {
          if (text.includes(secret)) leaks.push(`${rootName} object #${index} (${object.constructor?.name}) prints the ${name}`);
        }
      }
    }
  }
  assert.deepEqual([...new Set(leaks)], []);
}

/** The parts of a PEM private key that would show if printed (its base64 lines). */
const pemBody = (pem: string) => pem.split('\n').filter((line) => line.length > 40 && !line.startsWith('-----'))[1];

/** What a test saw besides the manager: errors (published, caught in user code) and payloads handed to loaders and events. */
class Observed {
  readonly objects: Record<string, object> = {};
  private count = 0;
  private readonly listeners: Array<[string, (message: unknown) => void]> = [
    [REFUSED_CHANNEL, (message) => this.add('refused', (message as { error: object }).error)],
    [STORE_ERROR_CHANNEL, (message) => this.add('store error', message as object)],
    [REUSE_CHANNEL, (message) => this.add('reuse event', message as object)],
  ];

  constructor() {
    for (const [channel, listener] of this.listeners) diagnostics.subscribe(channel, listener);
  }

  add(what: string, value: unknown): void {
    if (typeof value === 'object' && value !== null) this.objects[`${what} #${(this.count += 1)}`] = value;
  }

  /** Loaders that record what they are given and answer the default. */
  loaders(): Partial<JwtOptions> {
    const record = (name: string) => (argument: unknown) => void this.add(`argument of ${name}`, argument);
    const names = ['unauthorizedLoader', 'invalidTokenLoader', 'expiredTokenLoader', 'needsFreshTokenLoader', 'revokedTokenLoader', 'forbiddenLoader', 'storeUnavailableLoader'];
    return Object.fromEntries(names.map((name) => [name, record(name)])) as Partial<JwtOptions>;
  }

  /** The errors seen whose `payload` is set: the loaders' `payload` argument, without the CSRF value. */
  payloads(): Record<string, unknown>[] {
    const errors = Object.values(this.objects).flatMap((value) => [value, (value as { cause?: unknown }).cause]);
    return errors.filter((e): e is JwtError => e instanceof JwtError && e.payload !== undefined).map((e) => e.payload!);
  }

  stop(): void {
    for (const [channel, listener] of this.listeners) diagnostics.unsubscribe(channel, listener);
  }
}

let observed: Observed;

@JsonController('/rc')
class CookieDesk {
  @Post('/write')
  @JwtRequired()
  write(@Identity() who: string) {
    return { who };
  }

  @Get('/admin')
  @JwtRequired({ roles: ['admin'] })
  admin() {
    return { admin: true };
  }

  /** An open route whose handler calls the guarded method directly and catches the refusal itself. */
  @Get('/call')
  async call() {
    try {
      return await CookieDesk.prototype.admin.call({});
    } catch (error) {
      observed.add('caught by a handler (direct call)', error);
      return { refused: (error as JwtHttpError).status };
    }
  }
}

function startApp(options: Partial<JwtOptions>): Server {
  JwtManager.configure({ tokenLocation: ['headers', 'cookies'], ...observed.loaders(), ...options } as JwtOptions);
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  const ok = (ctx: Context) => void (ctx.body = { ok: true });
  router.get('/protected', jwtRequired(), ok);
  router.post('/protected', jwtRequired(), ok);
  router.post('/fresh', jwtRequired({ fresh: true }), ok);
  router.get('/admin', jwtRequired({ roles: ['admin'] }), ok);
  router.post('/login', async (ctx) => {
    const token = await createAccessToken('alice');
    setAccessCookies(ctx, token);
    setRefreshCookies(ctx, await createRefreshToken('alice'));
    ctx.body = { token };
  });
  router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => {
    const pair = await rotateRefreshToken();
    setAccessCookies(ctx, pair.accessToken);
    setRefreshCookies(ctx, pair.refreshToken);
    ctx.body = { ok: true };
  });
  router.post('/logout', jwtRequired(), async (ctx) => {
    await revokeToken(getJwtClaims());
    ctx.body = { ok: true };
  });
  router.get('/caught', async (ctx) => {
    try {
      await verifyJwtInRequest(ctx);
      ctx.body = { ok: true };
    } catch (error) {
      observed.add('caught by a handler (verifyJwtInRequest)', error);
      ctx.status = (error as JwtError).status;
      ctx.body = { refused: true };
    }
  });
  app.use(router.routes());
  useKoaServer(app, { controllers: [CookieDesk] });
  return app.listen(0);
}

/** The cookies of one browser: every Set-Cookie taken, sent back as one Cookie header. */
class Jar {
  readonly values = new Map<string, string>();
  take(res: Response): this {
    for (const line of ([] as string[]).concat(res.headers['set-cookie'] ?? [])) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      const value = pair.slice(at + 1);
      if (value === '') this.values.delete(pair.slice(0, at));
      else this.values.set(pair.slice(0, at), value);
    }
    return this;
  }
  get(name: string): string {
    const value = this.values.get(name);
    assert.ok(value, `no ${name} cookie`);
    return value;
  }
  header(): string {
    return [...this.values].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const statusAndBody = (res: Response) => [res.status, res.body];

/** Header tokens verified (twice: the cache), a refresh token, a refused expired token. */
async function headerTraffic(server: Server, secrets: Record<string, string>): Promise<void> {
  for (let i = 0; i < 3; i += 1) {
    const token = await createAccessToken(`user-${i}`);
    secrets[`access token ${i}`] = token;
    for (let j = 0; j < 2; j += 1) assert.equal((await request(server).get('/protected').set('Authorization', `Bearer ${token}`)).status, 200);
  }
  secrets['refresh token'] = await createRefreshToken('alice');
  const expired = await createAccessToken('alice', { expiresIn: -5 });
  secrets['expired token'] = expired;
  assert.equal((await request(server).get('/protected').set('Authorization', `Bearer ${expired}`)).status, 401);
}

/**
 * A browser's session over real HTTP with the double submit: every refusal that carries a
 * payload (CSRF, fresh, roles, refresh reuse, revoked, expired), each beside the request that passes.
 */
async function cookieTraffic(server: Server, secrets: Record<string, string>): Promise<void> {
  const http = () => request(server);
  const jar = new Jar().take(await http().post('/login').expect(200));
  const noteCookies = (label: string) => {
    secrets[`${label} access cookie`] = jar.get('access_token_cookie');
    secrets[`${label} refresh cookie`] = jar.get('refresh_token_cookie');
    secrets[`${label} access CSRF value`] = jar.get('csrf_access_token');
    secrets[`${label} refresh CSRF value`] = jar.get('csrf_refresh_token');
  };
  noteCookies('login');
  const csrf = () => jar.get('csrf_access_token');

  // the double submit: a GET needs no header, a POST needs the matching one
  assert.deepEqual(statusAndBody(await http().get('/protected').set('Cookie', jar.header())), [200, { ok: true }]);
  assert.deepEqual(statusAndBody(await http().post('/protected').set('Cookie', jar.header()).set('X-CSRF-TOKEN', csrf())), [200, { ok: true }]);
  assert.deepEqual(statusAndBody(await http().post('/protected').set('Cookie', jar.header())), [401, { msg: 'Missing CSRF token' }]);
  assert.deepEqual(
    statusAndBody(await http().post('/protected').set('Cookie', jar.header()).set('X-CSRF-TOKEN', 'not-it')),
    [401, { msg: 'CSRF double submit tokens do not match' }],
  );
  assert.deepEqual(statusAndBody(await http().post('/rc/write').set('Cookie', jar.header()).set('X-CSRF-TOKEN', csrf())), [200, { who: 'alice' }]);
  assert.deepEqual(statusAndBody(await http().post('/rc/write').set('Cookie', jar.header())), [401, { msg: 'Missing CSRF token' }]);

  // refusals whose errors carry the verified payload
  assert.deepEqual(statusAndBody(await http().get('/admin').set('Cookie', jar.header())), [403, { msg: 'Insufficient permissions' }]);
  assert.deepEqual(statusAndBody(await http().get('/rc/admin').set('Cookie', jar.header())), [403, { msg: 'Insufficient permissions' }]);
  assert.deepEqual(statusAndBody(await http().get('/rc/call').set('Cookie', jar.header())), [200, { refused: 403 }]);
  assert.deepEqual(statusAndBody(await http().post('/fresh').set('Cookie', jar.header()).set('X-CSRF-TOKEN', csrf())), [401, { msg: 'Fresh token required' }]);

  // rotation with the refresh cookie and its CSRF value; the used refresh token again is reuse
  const before = new Jar();
  for (const [name, value] of jar.values) before.values.set(name, value);
  const rotated = await http().post('/refresh').set('Cookie', jar.header()).set('X-CSRF-TOKEN', jar.get('csrf_refresh_token'));
  assert.deepEqual(statusAndBody(rotated), [200, { ok: true }]);
  noteCookies('rotated');
  jar.take(rotated);
  noteCookies('rotated');
  const reuse = await http().post('/refresh').set('Cookie', before.header()).set('X-CSRF-TOKEN', before.get('csrf_refresh_token'));
  assert.deepEqual(statusAndBody(reuse), [401, { msg: 'Token has been revoked' }]);

  // a fresh login, logged out: its cookie is refused as revoked, to the guard and to user code
  const second = new Jar().take(await http().post('/login').expect(200));
  secrets['second access cookie'] = second.get('access_token_cookie');
  secrets['second access CSRF value'] = second.get('csrf_access_token');
  secrets['second refresh CSRF value'] = second.get('csrf_refresh_token');
  assert.deepEqual(statusAndBody(await http().get('/caught').set('Cookie', second.header())), [200, { ok: true }]);
  const logout = await http().post('/logout').set('Cookie', second.header()).set('X-CSRF-TOKEN', second.get('csrf_access_token'));
  assert.deepEqual(statusAndBody(logout), [200, { ok: true }]);
  assert.deepEqual(statusAndBody(await http().get('/protected').set('Cookie', second.header())), [401, { msg: 'Token has been revoked' }]);
  assert.deepEqual(statusAndBody(await http().get('/caught').set('Cookie', second.header())), [401, { refused: true }]);

  // an expired cookie token, refused to the guard, to a handler and to decodeToken()
  const expired = await createAccessToken('alice', { expiresIn: -5 });
  secrets['expired cookie token'] = expired;
  secrets['expired token CSRF value'] = (await decodeToken(expired, { allowExpired: true })).csrf!;
  const stale = `access_token_cookie=${expired}`;
  assert.deepEqual(statusAndBody(await http().get('/protected').set('Cookie', stale)), [401, { msg: 'Token has expired' }]);
  assert.deepEqual(statusAndBody(await http().get('/caught').set('Cookie', stale)), [401, { refused: true }]);
  await decodeToken(expired).then(() => assert.fail('an expired token decoded'), (error) => observed.add('caught by user code (decodeToken)', error));
  for (const [name, value] of Object.entries(secrets)) assert.ok(value.length >= 16, `${name} is a real value`);
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Closed (or disconnected) after each test: stores and the clients handed to them. */
const opened: Array<{ close(): Promise<void> } | Redis | Cluster> = [];

describe('security: nothing reachable from the manager prints a secret (0.3 G)', function () {
  this.timeout(180_000);
  let server: Server | undefined;
  /** A second app (the wrong-password tests), closed likewise. */
  let server2: Server | undefined;
  beforeEach(() => {
    observed = new Observed();
  });
  afterEach(async () => {
    observed.stop();
    server?.close();
    server2?.close();
    server = server2 = undefined;
    for (const thing of opened.splice(0)) {
      if (thing instanceof Redis || thing instanceof Cluster) thing.disconnect();
      else await thing.close().catch(() => undefined);
    }
    JwtManager.reset();
  });

  /**
   * Header and cookie traffic, then the manager, its config, verifier and store, every error and
   * payload seen, and the tokens each verified again by hand (errors caught in user code).
   */
  async function check(options: Partial<JwtOptions>, secrets: Record<string, string>): Promise<void> {
    server = startApp(options);
    const store = JwtManager.instance.config.revocation?.store;
    if (store instanceof TieredTokenStore) await until(() => store.isLinkUp); // else the tier is bypassed: nothing held to print
    await headerTraffic(server, secrets);
    await cookieTraffic(server, secrets);
    const manager = JwtManager.instance;
    for (const [name, token] of Object.entries(secrets).filter(([name]) => name.includes('token') || name.includes('cookie'))) {
      await manager.verifier.authorize(token, { type: 'access', fresh: true }, {}).catch((error) => observed.add(`error of ${name}`, error));
    }
    assertNothingSecret({ manager, config: manager.config, verifier: manager.verifier, ...(store && { store }), ...observed.objects }, secrets);

    // what may be shown still is: the errors' payloads (the loaders' argument) without the csrf claim
    const payloads = observed.payloads();
    assert.ok(payloads.length >= 8, `${payloads.length} payloads on errors`);
    for (const payload of payloads) {
      assert.equal(typeof payload.jti, 'string');
      assert.equal('csrf' in payload, false);
    }
    assert.ok(Object.keys(observed.objects).some((name) => name.startsWith('argument of revokedTokenLoader')));
  }

  describe('header and cookie traffic', () => {
    it('HS256 with a memory store (allowlist, rotation)', async () => {
      const secret = randomBytes(32).toString('base64url');
      await check({ secret, revocation: { store: new MemoryTokenStore(), checks: 'all', refreshRotation: true, reuseIntervalSeconds: 0 } }, { secret });
    });

    it('HS256 with a memory store in blocklist mode: the revocation record holds no CSRF value', async () => {
      const secret = randomBytes(32).toString('base64url');
      await check({ secret, revocation: { store: new MemoryTokenStore(), checks: 'all', mode: 'blocklist', refreshRotation: true, reuseIntervalSeconds: 0 } }, { secret });
    });

    it('RS256 with a memory store: no private key', async () => {
      const { privatePem, publicPem } = testKey('rsaA');
      await check(
        { algorithm: 'RS256', privateKey: privatePem, publicKey: publicPem, revocation: { store: new MemoryTokenStore(), checks: 'all', refreshRotation: true, reuseIntervalSeconds: 0 } },
        { 'private key': pemBody(privatePem) },
      );
    });

    it('a stored record keeps every claim but the CSRF value', async () => {
      JwtManager.configure({ secret: randomBytes(32).toString('base64url'), tokenLocation: ['cookies'], revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      const token = await createAccessToken('alice', { claims: { plan: 'pro' } });
      const payload = await decodeToken(token);
      assert.equal(typeof payload.csrf, 'string', 'the token itself carries its CSRF value');
      const { csrf: _csrf, ...rest } = payload;
      assert.deepEqual((await JwtManager.instance.getStoredToken(payload.jti)).token, rest);
    });
  });

  describe('header and cookie traffic with Redis stores', () => {
    let redis: RedisServer;
    before(async function () {
      requireRedis(this, true);
      redis = new RedisServer(await freePort());
      await redis.start();
    });
    after(async () => redis?.stop());

    for (const mode of ['allowlist', 'blocklist'] as const) {
      for (const [name, make] of [
        ['RedisTokenStore', (url: string) => new RedisTokenStore({ redis: url, keyPrefix: `kje-print-${randomBytes(4).toString('hex')}:` })],
        ['TieredTokenStore', (url: string) => new TieredTokenStore({ redis: url, keyPrefix: `kje-print-${randomBytes(4).toString('hex')}:` })],
      ] as [string, (url: string) => TokenStore][]) {
        it(`${name} (${mode}): no record, tier entry or error shows a token or a CSRF value`, async () => {
          const store = make(redis.url);
          opened.push(store);
          const secret = randomBytes(32).toString('base64url');
          await check({ secret, revocation: { store, checks: 'all', mode, refreshRotation: true, reuseIntervalSeconds: 0 } }, { secret });
          assert.match(inspect(store), /keyPrefix: 'kje-print-/);
        });
      }
    }
  });

  describe('Redis passwords: requirepass, an ACL user, a Sentinel, a Cluster', () => {
    const password = () => `redis-pass-${randomBytes(12).toString('hex')}`;
    /** One deployment behind credentials: what a store is given, and the passwords that must never print. */
    interface Deployment {
      connection(): RedisConnection;
      passwords: Record<string, string>;
      stop(): Promise<void>;
    }
    const client = (options: RedisOptions) => {
      const made = new Redis({ maxRetriesPerRequest: 1, commandTimeout: 1000, ...options });
      made.on('error', () => undefined);
      opened.push(made);
      return made;
    };
    const standalone = async (auth: { username?: string; password: string }) => {
      const server = new RedisServer(await freePort(), [], auth);
      await server.start();
      return server;
    };
    const DEPLOYMENTS: Array<[string, () => Promise<Deployment>]> = [
      ['requirepass, the password in a redis:// URL', async () => {
        const server = await standalone({ password: password() });
        return { connection: () => server.url, passwords: { 'Redis password': server.auth!.password }, stop: () => server.stop() };
      }],
      ['requirepass, a client made with { password }', async () => {
        const server = await standalone({ password: password() });
        const auth = server.auth!;
        return { connection: () => client({ port: server.port, host: '127.0.0.1', password: auth.password }), passwords: { 'Redis password': auth.password }, stop: () => server.stop() };
      }],
      ['an ACL user in a redis:// URL', async () => {
        const server = await standalone({ username: 'kje-app', password: password() });
        return { connection: () => server.url, passwords: { 'ACL password': server.auth!.password }, stop: () => server.stop() };
      }],
      ['an ACL user, a client made with { username, password }', async () => {
        const server = await standalone({ username: 'kje-app', password: password() });
        const auth = server.auth!;
        return {
          connection: () => client({ port: server.port, host: '127.0.0.1', username: auth.username, password: auth.password }),
          passwords: { 'ACL password': auth.password },
          stop: () => server.stop(),
        };
      }],
      ['a Sentinel client with { sentinelPassword, password }', async () => {
        const master = await standalone({ password: password() });
        const sentinelPassword = password();
        const sentinel = new RedisSentinel(await freePort(), 'kje', master.port, { sentinelPassword, masterPassword: master.auth!.password });
        await sentinel.start();
        return {
          connection: () => client({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'kje', sentinelPassword, password: master.auth!.password }),
          passwords: { 'master password': master.auth!.password, 'Sentinel password': sentinelPassword },
          stop: async () => {
            await sentinel.stop();
            await master.stop();
          },
        };
      }],
      ['a Cluster client with { redisOptions: { password } }', async () => {
        const clusterPassword = password();
        const cluster = new RedisCluster(clusterPassword);
        await cluster.start();
        return {
          connection: () => {
            const made = cluster.client({ redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 } });
            opened.push(made);
            return made;
          },
          passwords: { 'Cluster password': clusterPassword },
          stop: () => cluster.stop(),
        };
      }],
    ];

    for (const [deploymentName, deploy] of DEPLOYMENTS) {
      describe(deploymentName, () => {
        let deployment: Deployment | undefined;
        before(async function () {
          requireRedis(this, true);
          deployment = await deploy();
        });
        after(async () => deployment?.stop());

        for (const [name, make] of [
          ['RedisTokenStore', (redis: RedisConnection) => new RedisTokenStore({ redis, keyPrefix: 'kje-pass:' })],
          ['TieredTokenStore', (redis: RedisConnection) => new TieredTokenStore({ redis, keyPrefix: 'kje-pass:' })],
        ] as [string, (redis: RedisConnection) => TokenStore][]) {
          it(`${name}: serves the traffic, and prints neither the password nor a token nor a CSRF value`, async () => {
            const store = make(deployment!.connection());
            opened.push(store);
            const secret = randomBytes(32).toString('base64url');
            await check({ secret, revocation: { store, checks: 'all', refreshRotation: true, reuseIntervalSeconds: 0 } }, { secret, ...deployment!.passwords });
            // the safe facts still show
            assert.match(inspect(store), /keyPrefix: 'kje-pass:'/);
            assert.match(JSON.stringify(store), /"connection":"(standalone|sentinel|cluster)"/);
          });
        }
      });
    }

    describe('a wrong password', () => {
      let server: RedisServer;
      before(async function () {
        requireRedis(this, true);
        server = await standalone({ password: password() });
      });
      after(async () => server?.stop());

      for (const [name, make] of [
        ['RedisTokenStore', (redis: string) => new RedisTokenStore({ redis })],
        ['TieredTokenStore', (redis: string) => new TieredTokenStore({ redis })],
      ] as [string, (redis: string) => TokenStore][]) {
        it(`${name}: refused (503, fail closed) with errors that do not print the password it tried`, async () => {
          const secret = randomBytes(32).toString('base64url');
          JwtManager.configure({ secret });
          const header = { Authorization: `Bearer ${await createAccessToken('alice')}` }; // made before the store is configured
          const wrong = password();
          const store = make(`redis://:${wrong}@127.0.0.1:${server.port}`);
          opened.push(store);
          const http = (server2 = startApp({ secret, revocation: { store, checks: 'all' } }));
          await createAccessToken('alice').then(
            () => assert.fail('a token was issued without its record'),
            (error) => observed.add('caught by user code (createAccessToken)', error),
          );
          assert.deepEqual(statusAndBody(await request(http).get('/protected').set(header)), [503, { msg: 'Token revocation store unavailable' }]);
          await store.find('some-jti').then(
            () => assert.fail('found without Redis'),
            (error) => observed.add('caught by user code (store.find)', error),
          );
          const seen = Object.keys(observed.objects);
          assert.ok(seen.some((e) => e.startsWith('store error')) && seen.some((e) => e.startsWith('refused')), seen.join(', '));
          assertNothingSecret({ store, ...observed.objects }, { 'wrong Redis password': wrong, 'right Redis password': server.auth!.password, secret });
        });
      }
    });
  });
});
