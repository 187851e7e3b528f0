import assert from 'node:assert/strict';
import request from 'supertest';
import { createAccessToken } from '../../src';
import { cookieHarness, cookieHeader, setCookies } from './support';

describe('koa: CSRF double submit on token cookies', () => {
  const harness = cookieHarness();
  const { start, login } = harness;

  async function session() {
    const res = await login();
    return { cookie: cookieHeader(res), csrf: setCookies(res).csrf_access_token.value, refreshCsrf: setCookies(res).csrf_refresh_token.value };
  }

  it('a missing cookie: 401 Missing cookie "access_token_cookie"', async () => {
    start();
    const res = await request(harness.server).get('/ck/protected');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Missing cookie "access_token_cookie"' });
  });

  it('GET with the cookie and no CSRF header: 200', async () => {
    start();
    const { cookie } = await session();
    const res = await request(harness.server).get('/ck/protected').set('Cookie', cookie);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { who: 'alice' });
  });

  for (const method of ['post', 'put', 'patch', 'delete'] as const) {
    it(`${method.toUpperCase()} with the cookie and no CSRF header: 401 Missing CSRF token`, async () => {
      start();
      const { cookie } = await session();
      const res = await request(harness.server)[method]('/ck/protected').set('Cookie', cookie);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing CSRF token' });
    });
  }

  it('POST with the matching X-CSRF-TOKEN: 200', async () => {
    start();
    const { cookie, csrf } = await session();
    const res = await request(harness.server).post('/ck/protected').set('Cookie', cookie).set('X-CSRF-TOKEN', csrf);
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
      const res = await request(harness.server).post('/ck/protected').set('Cookie', cookie).set('X-CSRF-TOKEN', value);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'CSRF double submit tokens do not match' });
    });
  }

  it('csrfMethods narrows the checked methods: DELETE passes without the header when only POST is listed', async () => {
    start({ csrfMethods: ['POST'] });
    const { cookie } = await session();
    const res = await request(harness.server).delete('/ck/protected').set('Cookie', cookie);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { who: 'alice' });
  });

  it('cookieCsrfProtect off: POST with the cookie alone passes', async () => {
    start({ cookieCsrfProtect: false });
    const cookie = cookieHeader(await login());
    const res = await request(harness.server).post('/ck/protected').set('Cookie', cookie);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { who: 'alice' });
  });

  it('a request authenticated by its header needs no CSRF token', async () => {
    start();
    const token = await createAccessToken('bob');
    const res = await request(harness.server).post('/ck/either').set('Authorization', `Bearer ${token}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { who: 'bob' });
  });

  it('the refresh cookie with the refresh CSRF value: 200', async () => {
    start();
    const { cookie, refreshCsrf } = await session();
    const res = await request(harness.server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', refreshCsrf);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { refreshed: 'alice' });
  });

  it('the refresh cookie with the access CSRF value: 401 CSRF double submit tokens do not match', async () => {
    start();
    const { cookie, csrf } = await session();
    const res = await request(harness.server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', csrf);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'CSRF double submit tokens do not match' });
  });

  it('refreshCsrfHeaderName is the header read for the refresh cookie', async () => {
    start({ refreshCsrfHeaderName: 'X-CSRF-REFRESH' });
    const { cookie, refreshCsrf } = await session();
    const res = await request(harness.server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-REFRESH', refreshCsrf);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { refreshed: 'alice' });
  });

  it('with refreshCsrfHeaderName set, X-CSRF-TOKEN alone on refresh: 401 Missing CSRF token', async () => {
    start({ refreshCsrfHeaderName: 'X-CSRF-REFRESH' });
    const { cookie, refreshCsrf } = await session();
    const res = await request(harness.server).post('/ck/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', refreshCsrf);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Missing CSRF token' });
  });

  it('an expired token in the cookie: 401 Token has expired', async () => {
    start();
    const token = await createAccessToken('alice', { expiresIn: -10 });
    const res = await request(harness.server).get('/ck/protected').set('Cookie', `access_token_cookie=${token}`);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Token has expired' });
  });
});
