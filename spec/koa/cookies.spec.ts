import assert from 'node:assert/strict';
import request from 'supertest';
import { decodeToken } from '../../src';
import { cookieHarness, cookieHeader, setCookies } from './support';

describe('koa: token cookies', () => {
  const harness = cookieHarness();
  const { start, login } = harness;

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
      const res = await request(harness.server).post('/ck/login').set('X-Forwarded-Proto', 'https');
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
      const check = await request(harness.server).get('/ck/protected').set('Cookie', cookieHeader(res));
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
      const res = await request(harness.server).post('/ck/logout');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { logout: true });
      const cookies = setCookies(res);
      assert.deepEqual(Object.keys(cookies).sort(), ['access_token_cookie', 'csrf_access_token', 'csrf_refresh_token', 'refresh_token_cookie']);
      Object.values(cookies).forEach(assertExpired);
      assert.equal(cookies.refresh_token_cookie.attributes.path, '/ck/refresh');
    });

    it('unsetAccessCookies expires only the access cookies', async () => {
      start();
      const res = await request(harness.server).post('/ck/logout-access');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { logout: 'access' });
      assert.deepEqual(Object.keys(setCookies(res)).sort(), ['access_token_cookie', 'csrf_access_token']);
      Object.values(setCookies(res)).forEach(assertExpired);
    });

    it('unsetRefreshCookies expires only the refresh cookies', async () => {
      start();
      const res = await request(harness.server).post('/ck/logout-refresh');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { logout: 'refresh' });
      assert.deepEqual(Object.keys(setCookies(res)).sort(), ['csrf_refresh_token', 'refresh_token_cookie']);
    });

    it('unsetting with cookieSecure over plain HTTP answers 200 with Secure cookies', async () => {
      start({ cookieSecure: true });
      const res = await request(harness.server).post('/ck/logout');
      assert.equal(res.status, 200);
      assert.equal(setCookies(res).access_token_cookie.attributes.secure, true);
    });
  });
});
