import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { Context } from 'koa';
import request from 'supertest';
import { Ctx, Delete, Get, JsonController, Patch, Post, Put, QueryParam } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, decodeToken, Identity, JwtManager, JwtOptions, JwtRequired, RefreshRequired,
  setAccessCookies, setRefreshCookies, unsetAccessCookies, unsetJwtCookies, unsetRefreshCookies,
} from '../../src';
import { cookieHeader, setCookies, startServer } from './support';

@JsonController('/ck')
class CookieController {
  @Post('/login')
  async login(@Ctx() ctx: Context, @QueryParam('maxAge') maxAge?: number) {
    setAccessCookies(ctx, await createAccessToken('alice'), maxAge);
    setRefreshCookies(ctx, await createRefreshToken('alice'), maxAge);
    return { login: true };
  }

  @Post('/logout')
  logout(@Ctx() ctx: Context) {
    unsetJwtCookies(ctx);
    return { logout: true };
  }

  @Post('/logout-access')
  logoutAccess(@Ctx() ctx: Context) {
    unsetAccessCookies(ctx);
    return { logout: 'access' };
  }

  @Post('/logout-refresh')
  logoutRefresh(@Ctx() ctx: Context) {
    unsetRefreshCookies(ctx);
    return { logout: 'refresh' };
  }

  @Get('/protected') @JwtRequired({ locations: ['cookies'] })
  read(@Identity() who: string) { return { who }; }

  @Post('/protected') @JwtRequired({ locations: ['cookies'] })
  create(@Identity() who: string) { return { who }; }

  @Put('/protected') @JwtRequired({ locations: ['cookies'] })
  replace(@Identity() who: string) { return { who }; }

  @Patch('/protected') @JwtRequired({ locations: ['cookies'] })
  update(@Identity() who: string) { return { who }; }

  @Delete('/protected') @JwtRequired({ locations: ['cookies'] })
  remove(@Identity() who: string) { return { who }; }

  @Post('/either') @JwtRequired({ locations: ['headers', 'cookies'] })
  either(@Identity() who: string) { return { who }; }

  @Post('/refresh') @RefreshRequired({ locations: ['cookies'] })
  refresh(@Identity() who: string) { return { refreshed: who }; }
}

describe('koa: token cookies', () => {
  let server: Server;

  function start(options: Partial<JwtOptions> = {}, setup?: Parameters<typeof startServer>[2]) {
    server = startServer([CookieController], options, setup);
  }
  afterEach(() => {
    server?.close();
    JwtManager.reset();
  });

  async function login(query = '') {
    const res = await request(server).post(`/ck/login${query}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { login: true });
    return res;
  }

  describe('attributes', () => {
    it('the access token cookie is HttpOnly, Path=/, SameSite=Lax, not Secure, a session cookie', async () => {
      start();
      const cookie = setCookies(await login()).access_token_cookie;
      assert.deepEqual(cookie.attributes, { path: '/', samesite: 'lax', httponly: true });
    });

    it('the access CSRF cookie is readable by scripts and holds the token csrf claim', async () => {
      start();
      const cookies = setCookies(await login());
      const payload = await decodeToken(cookies.access_token_cookie.value);
      assert.deepEqual(cookies.csrf_access_token.attributes, { path: '/', samesite: 'lax' });
      assert.equal(cookies.csrf_access_token.value, payload.csrf);
    });

    it('the refresh cookies carry the refresh token and its csrf claim', async () => {
      start();
      const cookies = setCookies(await login());
      const payload = await decodeToken(cookies.refresh_token_cookie.value);
      assert.equal(payload.type, 'refresh');
      assert.equal(cookies.refresh_token_cookie.attributes.httponly, true);
      assert.equal(cookies.csrf_refresh_token.value, payload.csrf);
      assert.equal(cookies.csrf_refresh_token.attributes.httponly, undefined);
    });

    it('names, paths, domain and SameSite follow the options', async () => {
      start({
        accessCookieName: 'at', refreshCookieName: 'rt', accessCsrfCookieName: 'cat', refreshCsrfCookieName: 'crt',
        accessCookiePath: '/ck', refreshCookiePath: '/ck/refresh', accessCsrfCookiePath: '/a', refreshCsrfCookiePath: '/r',
        cookieDomain: 'example.test', cookieSameSite: 'strict',
      });
      const cookies = setCookies(await login());
      assert.deepEqual(Object.keys(cookies).sort(), ['at', 'cat', 'crt', 'rt']);
      assert.deepEqual(cookies.at.attributes, { path: '/ck', domain: 'example.test', samesite: 'strict', httponly: true });
      assert.deepEqual(cookies.rt.attributes, { path: '/ck/refresh', domain: 'example.test', samesite: 'strict', httponly: true });
      assert.deepEqual(cookies.cat.attributes, { path: '/a', domain: 'example.test', samesite: 'strict' });
      assert.deepEqual(cookies.crt.attributes, { path: '/r', domain: 'example.test', samesite: 'strict' });
    });

    it('cookieSameSite false writes no SameSite attribute', async () => {
      start({ cookieSameSite: false });
      const cookie = setCookies(await login()).access_token_cookie;
      assert.deepEqual(cookie.attributes, { path: '/', httponly: true });
    });

    it('cookieSecure writes Secure even when Koa sees plain HTTP (never a 500)', async () => {
      start({ cookieSecure: true, cookieSameSite: 'none' });
      const cookies = setCookies(await login());
      assert.equal(cookies.access_token_cookie.attributes.secure, true);
      assert.equal(cookies.csrf_access_token.attributes.secure, true);
      assert.equal(cookies.access_token_cookie.attributes.samesite, 'none');
    });

    it('cookieSecure behind a trusted proxy (app.proxy, X-Forwarded-Proto: https) writes Secure', async () => {
      start({ cookieSecure: true }, (app) => { app.proxy = true; });
      const res = await request(server).post('/ck/login').set('X-Forwarded-Proto', 'https');
      assert.equal(res.status, 200);
      assert.equal(setCookies(res).refresh_token_cookie.attributes.secure, true);
    });

    it('a session cookie has no Expires or Max-Age', async () => {
      start({ sessionCookie: true });
      const attributes = setCookies(await login()).refresh_token_cookie.attributes;
      assert.equal(attributes.expires, undefined);
      assert.equal(attributes['max-age'], undefined);
    });

    it('a persistent cookie lives as long as the token (Koa writes it as Expires)', async () => {
      start({ sessionCookie: false, accessTokenExpires: '10m' });
      const cookies = setCookies(await login());
      for (const name of ['access_token_cookie', 'csrf_access_token']) {
        const lifetime = Date.parse(cookies[name].attributes.expires as string) - Date.now();
        assert.ok(lifetime > 590_000 && lifetime <= 600_000, `${name} lives ${lifetime} ms`);
      }
    });

    it('a given maxAge (seconds) sets the lifetime, even for a session configuration', async () => {
      start({ sessionCookie: true });
      const cookies = setCookies(await login('?maxAge=120'));
      const lifetime = Date.parse(cookies.refresh_token_cookie.attributes.expires as string) - Date.now();
      assert.ok(lifetime > 110_000 && lifetime <= 120_000, `lives ${lifetime} ms`);
    });

    it('no CSRF cookies when csrfInCookies is off', async () => {
      start({ csrfInCookies: false });
      assert.deepEqual(Object.keys(setCookies(await login())).sort(), ['access_token_cookie', 'refresh_token_cookie']);
    });

    it('no CSRF cookies when cookieCsrfProtect is off', async () => {
      start({ cookieCsrfProtect: false });
      assert.deepEqual(Object.keys(setCookies(await login())).sort(), ['access_token_cookie', 'refresh_token_cookie']);
    });

    it('app.keys adds no .sig cookies, and the cookie still authenticates', async () => {
      start({}, (app) => { app.keys = ['koa-signing-key']; });
      const res = await login();
      assert.deepEqual(Object.keys(setCookies(res)).filter((n) => n.endsWith('.sig')), []);
      const check = await request(server).get('/ck/protected').set('Cookie', cookieHeader(res));
      assert.equal(check.status, 200);
      assert.deepEqual(check.body, { who: 'alice' });
    });
  });

  describe('unsetting', () => {
    function assertExpired(cookie: { value: string; attributes: Record<string, string | true> }) {
      assert.equal(cookie.value, '');
      assert.equal(Date.parse(cookie.attributes.expires as string), 0);
    }

    it('unsetJwtCookies expires all four cookies on their own paths', async () => {
      start({ refreshCookiePath: '/ck/refresh' });
      const res = await request(server).post('/ck/logout');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { logout: true });
      const cookies = setCookies(res);
      assert.deepEqual(Object.keys(cookies).sort(), ['access_token_cookie', 'csrf_access_token', 'csrf_refresh_token', 'refresh_token_cookie']);
      Object.values(cookies).forEach(assertExpired);
      assert.equal(cookies.refresh_token_cookie.attributes.path, '/ck/refresh');
    });

    it('unsetAccessCookies expires only the access cookies', async () => {
      start();
      const res = await request(server).post('/ck/logout-access');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { logout: 'access' });
      assert.deepEqual(Object.keys(setCookies(res)).sort(), ['access_token_cookie', 'csrf_access_token']);
      Object.values(setCookies(res)).forEach(assertExpired);
    });

    it('unsetRefreshCookies expires only the refresh cookies', async () => {
      start();
      const res = await request(server).post('/ck/logout-refresh');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { logout: 'refresh' });
      assert.deepEqual(Object.keys(setCookies(res)).sort(), ['csrf_refresh_token', 'refresh_token_cookie']);
    });

    it('unsetting with cookieSecure over plain HTTP answers 200 with Secure cookies', async () => {
      start({ cookieSecure: true });
      const res = await request(server).post('/ck/logout');
      assert.equal(res.status, 200);
      assert.equal(setCookies(res).access_token_cookie.attributes.secure, true);
    });
  });

  describe('CSRF double submit', () => {
    async function session() {
      const res = await login();
      return { cookie: cookieHeader(res), csrf: setCookies(res).csrf_access_token.value, refreshCsrf: setCookies(res).csrf_refresh_token.value };
    }

    it('a missing cookie: 401 Missing cookie "access_token_cookie"', async () => {
      start();
      const res = await request(server).get('/ck/protected');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing cookie "access_token_cookie"' });
    });

    it('GET with the cookie and no CSRF header: 200', async () => {
      start();
      const { cookie } = await session();
      const res = await request(server).get('/ck/protected').set('Cookie', cookie);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    for (const method of ['post', 'put', 'patch', 'delete'] as const) {
      it(`${method.toUpperCase()} with the cookie and no CSRF header: 401 Missing CSRF token`, async () => {
        start();
        const { cookie } = await session();
        const res = await request(server)[method]('/ck/protected').set('Cookie', cookie);
        assert.equal(res.status, 401);
        assert.deepEqual(res.body, { msg: 'Missing CSRF token' });
      });
    }

    it('POST with the matching X-CSRF-TOKEN: 200', async () => {
      start();
      const { cookie, csrf } = await session();
      const res = await request(server).post('/ck/protected').set('Cookie', cookie).set('X-CSRF-TOKEN', csrf);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    const wrongValues: Record<string, string> = {
      'a wrong value': '00000000-0000-4000-8000-000000000000',
      'a one-character value': 'x',
      'a 10 kB value': 'a'.repeat(10 * 1024),
      'non-ASCII UTF-8 bytes': Buffer.from('jeton-ü-€-🍪', 'utf8').toString('latin1'),
    };
    for (const [label, value] of Object.entries(wrongValues)) {
      it(`POST with ${label} as X-CSRF-TOKEN: 401 CSRF double submit tokens do not match`, async () => {
        start();
        const { cookie } = await session();
        const res = await request(server).post('/ck/protected').set('Cookie', cookie).set('X-CSRF-TOKEN', value);
        assert.equal(res.status, 401);
        assert.deepEqual(res.body, { msg: 'CSRF double submit tokens do not match' });
      });
    }

    it('csrfMethods narrows the checked methods: DELETE passes without the header when only POST is listed', async () => {
      start({ csrfMethods: ['POST'] });
      const { cookie } = await session();
      const res = await request(server).delete('/ck/protected').set('Cookie', cookie);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it('cookieCsrfProtect off: POST with the cookie alone passes', async () => {
      start({ cookieCsrfProtect: false });
      const cookie = cookieHeader(await login());
      const res = await request(server).post('/ck/protected').set('Cookie', cookie);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it('a request authenticated by its header needs no CSRF token', async () => {
      start();
      const token = await createAccessToken('bob');
      const res = await request(server).post('/ck/either').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'bob' });
    });

    it('the refresh cookie with the refresh CSRF value: 200', async () => {
      start();
      const { cookie, refreshCsrf } = await session();
      const res = await request(server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', refreshCsrf);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { refreshed: 'alice' });
    });

    it('the refresh cookie with the access CSRF value: 401 CSRF double submit tokens do not match', async () => {
      start();
      const { cookie, csrf } = await session();
      const res = await request(server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', csrf);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'CSRF double submit tokens do not match' });
    });

    it('refreshCsrfHeaderName is the header read for the refresh cookie', async () => {
      start({ refreshCsrfHeaderName: 'X-CSRF-REFRESH' });
      const { cookie, refreshCsrf } = await session();
      const res = await request(server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-REFRESH', refreshCsrf);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { refreshed: 'alice' });
    });

    it('with refreshCsrfHeaderName set, X-CSRF-TOKEN alone on refresh: 401 Missing CSRF token', async () => {
      start({ refreshCsrfHeaderName: 'X-CSRF-REFRESH' });
      const { cookie, refreshCsrf } = await session();
      const res = await request(server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', refreshCsrf);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing CSRF token' });
    });

    it('an expired token in the cookie: 401 Token has expired', async () => {
      start();
      const token = await createAccessToken('alice', { expiresIn: -10 });
      const res = await request(server).get('/ck/protected').set('Cookie', `access_token_cookie=${token}`);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Token has expired' });
    });
  });
});
