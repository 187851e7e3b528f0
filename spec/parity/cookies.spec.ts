/**
 * Flask-JWT-Extended 4's tests/test_cookies.py and tests/test_multiple_token_locations.py,
 * ported: each `it` names the fje test it mirrors. Cookies go through a real HTTP server
 * (Set-Cookie headers parsed as a browser would read them).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { Context } from 'koa';
import request from 'supertest';
import { Ctx, Get, JsonController, Post, QueryParam } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, getJwtRequestLocation, JwtManager, JwtOptions, JwtRequired, setAccessCookies,
  setRefreshCookies, unsetAccessCookies, unsetJwtCookies, unsetRefreshCookies,
} from '../../src';
import { cookieHeader, setCookies, startServer } from '../koa/support';

/** fje's test_cookies.py app: each route takes `?domain=` and passes it to the cookie function. */
@JsonController('/fje')
class FjeCookieController {
  @Get('/access_token')
  async accessToken(@Ctx() ctx: Context, @QueryParam('domain') domain?: string) {
    setAccessCookies(ctx, await createAccessToken('username'), { domain });
    return { login: true };
  }

  @Get('/refresh_token')
  async refreshToken(@Ctx() ctx: Context, @QueryParam('domain') domain?: string) {
    setRefreshCookies(ctx, await createRefreshToken('username'), { domain });
    return { login: true };
  }

  @Get('/delete_tokens')
  deleteTokens(@Ctx() ctx: Context, @QueryParam('domain') domain?: string) {
    unsetJwtCookies(ctx, { domain });
    return { logout: true };
  }

  @Get('/delete_access_tokens')
  deleteAccess(@Ctx() ctx: Context, @QueryParam('domain') domain?: string) {
    unsetAccessCookies(ctx, { domain });
    return { access_revoked: true };
  }

  @Get('/delete_refresh_tokens')
  deleteRefresh(@Ctx() ctx: Context, @QueryParam('domain') domain?: string) {
    unsetRefreshCookies(ctx, { domain });
    return { refresh_revoked: true };
  }

  @Get('/protected') @JwtRequired()
  protected() { return { foo: 'bar' }; }

  @Get('/refresh_protected') @JwtRequired({ refresh: true })
  refreshProtected() { return { foo: 'bar' }; }
}

/** fje's test_multiple_token_locations.py app: one route for GET and POST. */
@JsonController('/fje-loc')
class FjeLocationsController {
  @Get('/cookie_login')
  async login(@Ctx() ctx: Context) {
    setAccessCookies(ctx, await createAccessToken('username'));
    return { login: true };
  }

  @Get('/protected') @Post('/protected') @JwtRequired()
  protectedGetOrPost() { return { foo: 'bar', location: getJwtRequestLocation() }; }

  @Get('/protected_with_locations') @JwtRequired({ locations: ['headers', 'cookies', 'query', 'json'] })
  protectedWithLocations() { return { foo: 'bar', location: getJwtRequestLocation() }; }
}

describe('parity with fje 4: cookies', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });
  const start = (options: Partial<JwtOptions> = {}) => (server = startServer([FjeCookieController, FjeLocationsController], { tokenLocation: ['cookies'], ...options }));

  // fje: test_override_domain_option (access and refresh variants)
  for (const [kind, authUrl, deleteUrl, tokenCookie, csrfCookie] of [
    ['access', '/fje/access_token', '/fje/delete_access_tokens', 'access_token_cookie', 'csrf_access_token'],
    ['refresh', '/fje/refresh_token', '/fje/delete_refresh_tokens', 'refresh_token_cookie', 'csrf_refresh_token'],
  ] as const) {
    it(`test_override_domain_option (${kind}): a per-call domain on the set and the unset cookies`, async () => {
      start({ cookieDomain: 'test.com' });
      const set = setCookies(await request(server!).get(`${authUrl}?domain=yolo.com`).expect(200));
      assert.equal(set[tokenCookie].attributes.domain, 'yolo.com');
      assert.equal(set[csrfCookie].attributes.domain, 'yolo.com');
      const unset = setCookies(await request(server!).get(`${deleteUrl}?domain=yolo.com`).expect(200));
      assert.equal(unset[tokenCookie].attributes.domain, 'yolo.com');
      assert.equal(unset[tokenCookie].value, '');
      assert.equal(unset[csrfCookie].attributes.domain, 'yolo.com');
    });
  }

  // fje: test_custom_cookie_options (the domain part): no per-call domain keeps JWT_COOKIE_DOMAIN
  it('test_custom_cookie_options: without a per-call domain the configured cookieDomain is written', async () => {
    start({ cookieDomain: 'test.com' });
    const set = setCookies(await request(server!).get('/fje/access_token').expect(200));
    assert.equal(set.access_token_cookie.attributes.domain, 'test.com');
    assert.equal(set.csrf_access_token.attributes.domain, 'test.com');
    const unset = setCookies(await request(server!).get('/fje/delete_tokens').expect(200));
    for (const name of ['access_token_cookie', 'csrf_access_token', 'refresh_token_cookie', 'csrf_refresh_token']) {
      assert.equal(unset[name].attributes.domain, 'test.com', name);
    }
  });

  it('unsetJwtCookies with a per-call domain expires all four cookies on that domain', async () => {
    start();
    const unset = setCookies(await request(server!).get('/fje/delete_tokens?domain=.yolo.com').expect(200));
    for (const name of ['access_token_cookie', 'csrf_access_token', 'refresh_token_cookie', 'csrf_refresh_token']) {
      assert.equal(unset[name].attributes.domain, '.yolo.com', name);
      assert.equal(unset[name].value, '', name);
    }
  });

  it('a domain that could end or add an attribute is refused before any cookie is written (JwtUsageError, a 500 for the app, no Set-Cookie)', async () => {
    start();
    for (const domain of ['yolo.com; HttpOnly', 'a b.com', 'yolo.com\r\nX: 1', '', '-bad.com', 'x'.repeat(254)]) {
      const res = await request(server!).get('/fje/access_token').query({ domain });
      // an empty ?domain= arrives as '' (not undefined): refused too, never a cookie for no domain
      assert.equal(res.status, 500, JSON.stringify(domain));
      assert.equal(res.headers['set-cookie'], undefined, JSON.stringify(domain));
    }
    const ctx = { cookies: { secure: false, set: () => assert.fail('no cookie may be written') } } as unknown as Context;
    const token = await createAccessToken('username');
    assert.throws(() => setAccessCookies(ctx, token, { domain: 'yolo.com; HttpOnly' }), { name: 'JwtUsageError', message: /domain must be a host name/ });
    assert.throws(() => unsetJwtCookies(ctx, { domain: 42 as unknown as string }), { name: 'JwtUsageError' });
  });

  it('0.2\'s third argument (a bare maxAge) still sets the lifetime', async () => {
    start();
    const ctx = { cookies: { secure: false, set: (name: string, value: string, options: { maxAge?: number }) => { seen.push([name, options.maxAge]); } } };
    const seen: [string, number | undefined][] = [];
    setAccessCookies(ctx as unknown as Context, await createAccessToken('username', { csrf: true }), 60);
    assert.deepEqual(seen, [['access_token_cookie', 60_000], ['csrf_access_token', 60_000]]);
  });

  // fje: test_jwt_refresh_required_with_cookies (both variants)
  for (const [kind, authUrl, cookieName, protectedUrl, deleteUrl] of [
    ['refresh', '/fje/refresh_token', 'refresh_token_cookie', '/fje/refresh_protected', '/fje/delete_refresh_tokens'],
    ['access', '/fje/access_token', 'access_token_cookie', '/fje/protected', '/fje/delete_access_tokens'],
  ] as const) {
    it(`test_jwt_refresh_required_with_cookies (${kind}): missing, then logged in, then logged out`, async () => {
      start();
      const missing = await request(server!).get(protectedUrl);
      assert.equal(missing.status, 401);
      assert.deepEqual(missing.body, { msg: `Missing cookie "${cookieName}"` });
      const login = await request(server!).get(authUrl).expect(200);
      const ok = await request(server!).get(protectedUrl).set('Cookie', cookieHeader(login));
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { foo: 'bar' });
      const logout = await request(server!).get(deleteUrl).expect(200);
      assert.equal(setCookies(logout)[cookieName].value, '');
    });
  }

  // fje: test_cookie_access (test_multiple_token_locations.py), both apps: tokenLocation and a route's locations
  it('test_cookie_access: a GET with the cookie passes a GET/POST route, location cookies', async () => {
    start({ tokenLocation: ['headers', 'cookies', 'query', 'json'] });
    const login = await request(server!).get('/fje-loc/cookie_login').expect(200);
    const res = await request(server!).get('/fje-loc/protected').set('Cookie', cookieHeader(login));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { foo: 'bar', location: 'cookies' });
    // the same route by POST is a CSRF method: the cookie alone is refused
    const post = await request(server!).post('/fje-loc/protected').set('Cookie', cookieHeader(login));
    assert.equal(post.status, 401);
    assert.deepEqual(post.body, { msg: 'Missing CSRF token' });
  });

  it('test_cookie_access (app_with_locations): the route\'s own locations read the cookie', async () => {
    start({ tokenLocation: ['headers'] });
    const token = await createAccessToken('username', { csrf: true });
    const res = await request(server!).get('/fje-loc/protected_with_locations').set('Cookie', `access_token_cookie=${token}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { foo: 'bar', location: 'cookies' });
    const none = await request(server!).get('/fje-loc/protected_with_locations');
    assert.equal(none.status, 401);
  });
});
