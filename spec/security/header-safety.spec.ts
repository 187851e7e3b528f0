/**
 * DESIGN 0.3 G "Headers never make a 500": identities outside Latin-1, with CR/LF or
 * quotes, through every refusal path and every door, over a real HTTP server. Each is
 * answered with its normal status and body; every header we write is printable ASCII,
 * and a challenge's quoted values hold only RFC 6750 §3 characters. No identity in a header.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request, { type Response } from 'supertest';
import { Get, JsonController, Post, useKoaServer } from 'routing-controllers';
import type { Context } from 'koa';
import {
  createAccessToken, decodeToken, FreshJwtRequired, JwtManager, JwtOptions, JwtRequired, jwtRequired, MemoryTokenStore, revokeToken,
  setAccessCookies, UserLookupError, verifyJwtInRequest,
} from '../../src';
import { authChallenge, quotedParameter } from '../../src/core/challenge';
import type { TokenPayload } from '../../src/core/responses';

const SECRET = 'header-safety-secret-0123456789-abcdefgh';
const IDENTITIES = ['Ł', '山田', 'eve\r\nX-Injected: 1', 'say "hi" \\ back', 'tab\there\u0000nul', '😀'];

@JsonController('/rc')
class DecoratedController {
  @Get('/plain') @JwtRequired() plain() { return { ok: true }; }
  @Get('/fresh') @FreshJwtRequired() fresh() { return { ok: true }; }
  @Get('/admin') @JwtRequired({ roles: ['admin'] }) admin() { return { ok: true }; }
  @Post('/cookie') @JwtRequired({ locations: ['cookies'] }) cookie() { return { ok: true }; }
}

/** The three doors on one app: decorators under /rc, jwtRequired() under /mw, verifyJwtInRequest under /imp. */
function startApp(options: Partial<JwtOptions>): Server {
  JwtManager.configure({ secret: SECRET, tokenLocation: ['headers', 'cookies'], ...options });
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  const ok = (ctx: Context) => { ctx.body = { ok: true }; };
  router.get('/mw/plain', jwtRequired(), ok);
  router.get('/mw/fresh', jwtRequired({ fresh: true }), ok);
  router.get('/mw/admin', jwtRequired({ roles: ['admin'] }), ok);
  router.post('/mw/cookie', jwtRequired({ locations: ['cookies'] }), ok);
  const imperative = (guard: Parameters<typeof verifyJwtInRequest>[1]) => async (ctx: Context) => {
    await verifyJwtInRequest(ctx, guard);
    ctx.body = { ok: true };
  };
  router.get('/imp/plain', imperative({}));
  router.get('/imp/fresh', imperative({ fresh: true }));
  router.get('/imp/admin', imperative({ roles: ['admin'] }));
  router.post('/imp/cookie', imperative({ locations: ['cookies'] }));
  router.post('/login/:identity', async (ctx) => {
    setAccessCookies(ctx, await createAccessToken(ctx.params.identity));
    ctx.body = { login: true };
  });
  app.use(router.routes());
  useKoaServer(app, { controllers: [DecoratedController], defaultErrorHandler: true });
  return app.listen(0);
}

/** Every header value printable ASCII; a challenge's quoted values only RFC 6750 §3 characters; no identity anywhere. */
function assertSafeHeaders(res: Response, identity: string): void {
  const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const [name, value] = [raw[i], raw[i + 1]];
    assert.match(value, /^[\x20-\x7e]*$/, `${name} is not printable ASCII: ${JSON.stringify(value)}`);
    assert.notEqual(name.toLowerCase(), 'x-injected');
    if (identity.length > 1) assert.ok(!value.includes(identity), `${name} holds the identity`);
  }
  const challenge = res.headers['www-authenticate'] as string | undefined;
  if (challenge !== undefined) {
    for (const [, value] of challenge.matchAll(/="([^"]*)"/g)) assert.match(value, /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/);
  }
}

interface RefusalPath {
  name: string;
  options: () => Partial<JwtOptions>;
  route: string;
  token: (identity: string) => Promise<string>;
  status: number;
  /** The JSON body the routing-controllers and jwtRequired() doors answer. */
  body: (identity: string) => unknown;
  /** What WWW-Authenticate says on those doors. */
  challenge?: string;
}

const store = () => new MemoryTokenStore();
const expired = (identity: string) => createAccessToken(identity, { expiresIn: -5 });
const plain = (identity: string) => createAccessToken(identity);
const revoked = async (identity: string) => {
  const token = await createAccessToken(identity);
  await revokeToken((await decodeToken(token)).jti as string);
  return token;
};
const challenge = (description: string) => `Bearer error="invalid_token", error_description="${description}"`;

const PATHS: RefusalPath[] = [
  { name: 'expired', options: () => ({}), route: 'plain', token: expired, status: 401, body: () => ({ msg: 'Token has expired' }), challenge: challenge('Token has expired') },
  { name: 'revoked', options: () => ({ revocation: { store: store(), checks: 'all' } }), route: 'plain', token: revoked, status: 401, body: () => ({ msg: 'Token has been revoked' }), challenge: challenge('Token has been revoked') },
  { name: 'fresh required', options: () => ({}), route: 'fresh', token: plain, status: 401, body: () => ({ msg: 'Fresh token required' }), challenge: challenge('Fresh token required') },
  {
    name: 'user lookup error', options: () => ({ userLookupLoader: () => null }), route: 'plain', token: plain, status: 401,
    body: (identity) => ({ msg: `Error loading the user ${identity}` }), challenge: challenge('Error loading the user'),
  },
  {
    name: 'user lookup throwing a UserLookupError that names the identity',
    options: () => ({ userLookupLoader: (payload: TokenPayload) => { throw new UserLookupError(payload, payload.sub); } }),
    route: 'plain', token: plain, status: 401, body: (identity) => ({ msg: `Error loading the user ${identity}` }), challenge: challenge('Error loading the user'),
  },
  { name: 'forbidden', options: () => ({}), route: 'admin', token: plain, status: 403, body: () => ({ msg: 'Insufficient permissions' }) },
  {
    name: 'claims verification failed', options: () => ({ tokenVerificationLoader: () => false }), route: 'plain', token: plain, status: 400,
    body: () => ({ msg: 'User claims verification failed' }),
  },
  {
    name: 'custom loaders whose messages name the identity (401)',
    options: () => ({
      userLookupLoader: () => null,
      userLookupErrorLoader: (payload: TokenPayload) => ({ status: 401, body: { msg: `no user "${payload.sub}"` } }),
    }),
    route: 'plain', token: plain, status: 401, body: (identity) => ({ msg: `no user "${identity}"` }), challenge: challenge('Error loading the user'),
  },
  {
    name: 'a forbidden loader answering 401 with the identity',
    options: () => ({ forbiddenLoader: (payload: TokenPayload) => ({ status: 401, body: { msg: `${payload.sub} is no admin` } }) }),
    route: 'admin', token: plain, status: 401, body: (identity) => ({ msg: `${identity} is no admin` }), challenge: challenge('Insufficient permissions'),
  },
  {
    name: 'an expired loader answering 401 with the identity',
    options: () => ({ expiredTokenLoader: (payload: TokenPayload) => ({ status: 401, body: { msg: `bye ${payload.sub}` } }) }),
    route: 'plain', token: expired, status: 401, body: (identity) => ({ msg: `bye ${identity}` }), challenge: challenge('Token has expired'),
  },
];

describe('security: identities that are no header value never make a 500 (0.3 G)', function () {
  this.timeout(60_000);
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });

  for (const path of PATHS) {
    it(`${path.name}: its normal status on every door, for every identity`, async () => {
      server = startApp(path.options());
      for (const identity of IDENTITIES) {
        const token = await path.token(identity);
        for (const door of ['rc', 'mw']) {
          const res: Response = await request(server!).get(`/${door}/${path.route}`).set('Authorization', `Bearer ${token}`);
          const where = `${door} ${JSON.stringify(identity)}`;
          assert.equal(res.status, path.status, `${where}: ${res.text}`);
          assert.deepEqual(res.body, path.body(identity), where);
          assert.equal(res.headers['www-authenticate'], path.challenge, where);
          assertSafeHeaders(res, identity);
        }
        // the imperative door throws the JwtError: Koa answers it with its status and message
        const res: Response = await request(server!).get(`/imp/${path.route}`).set('Authorization', `Bearer ${token}`);
        assert.notEqual(res.status, 500, `imp ${JSON.stringify(identity)}: ${res.text}`);
        assertSafeHeaders(res, identity);
      }
    });
  }

  it('the same tokens pass where nothing refuses them (the allowed side)', async () => {
    server = startApp({});
    for (const identity of IDENTITIES) {
      const token = await createAccessToken(identity, { fresh: true, claims: { roles: ['admin'] } });
      for (const route of ['/rc/plain', '/rc/fresh', '/rc/admin', '/mw/plain', '/mw/fresh', '/mw/admin', '/imp/plain', '/imp/fresh', '/imp/admin']) {
        const res: Response = await request(server!).get(route).set('Authorization', `Bearer ${token}`);
        assert.deepEqual([res.status, res.body], [200, { ok: true }], `${route} ${JSON.stringify(identity)}`);
      }
    }
  });

  it('cookies: Set-Cookie for such an identity is ASCII, and a POST without CSRF is its 401', async () => {
    server = startApp({});
    for (const identity of IDENTITIES) {
      const login = await request(server).post(`/login/${encodeURIComponent(identity)}`);
      assert.equal(login.status, 200, login.text);
      assertSafeHeaders(login, identity);
      const cookies = ([] as string[]).concat(login.headers['set-cookie']).map((c) => c.split(';')[0]).join('; ');
      for (const door of ['rc', 'mw']) {
        const refused: Response = await request(server!).post(`/${door}/cookie`).set('Cookie', cookies);
        assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing CSRF token' }], door);
        assertSafeHeaders(refused, identity);
        const csrf = cookies.match(/csrf_access_token=([^;]+)/)![1];
        const passed: Response = await request(server!).post(`/${door}/cookie`).set('Cookie', cookies).set('X-CSRF-TOKEN', csrf);
        assert.deepEqual([passed.status, passed.body], [200, { ok: true }], door);
      }
    }
  });

  it('cookie paths and domains outside printable ASCII are configuration errors, not a 500 at login', () => {
    assert.throws(() => JwtManager.configure({ secret: SECRET, accessCookiePath: '/Łódź' }), /accessCookiePath must be a path/);
    assert.throws(() => JwtManager.configure({ secret: SECRET, cookieDomain: '例え.jp' }), /cookieDomain must be a domain/);
    assert.throws(() => JwtManager.configure({ secret: SECRET, refreshCsrfCookiePath: '/a\u007fb' }), /refreshCsrfCookiePath must be a path/);
  });

  describe('the quoting rule (src/core/challenge.ts)', () => {
    it('keeps only RFC 6750 §3 characters, at most 200', () => {
      assert.equal(quotedParameter('Token "x" \\ has\r\n expired Ł山田\u0000'), 'Token x  has expired ');
      assert.equal(quotedParameter('a'.repeat(500)).length, 200);
      const every = String.fromCharCode(...Array.from({ length: 0x250 }, (_, i) => i));
      assert.match(quotedParameter(every), /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/);
    });

    it('quotes every parameter of a challenge', () => {
      assert.equal(authChallenge('Bearer'), 'Bearer');
      assert.equal(authChallenge('Bearer', { error: 'insufficient_scope', scope: 'read "all"\r\n' }), 'Bearer error="insufficient_scope", scope="read all"');
    });
  });
});
