import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createDemoApp } from '../../demo/app';
import { createAccessToken, JwtManager } from '../../src';
import { expectResponse } from '../support/assert-response';

function jtiOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti;
}

/** The seed README's flows end to end against the demo app. */
describe('demo: the seed flows', () => {
  let server: Server;
  beforeEach(() => { server = createDemoApp().listen(0); });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  async function login(username = 'test', password = username) {
    const res = await request(server).post('/login').send({ username, password });
    assert.equal(res.status, 200, res.text);
    return res.body as { access_token: string; refresh_token: string };
  }
  const bearer = (token: string) => `Bearer ${token}`;

  describe('fresh and refreshed tokens', () => {
    it('the login access token opens /protected-fresh', async () => {
      const { access_token } = await login();
      expectResponse(await request(server).get('/protected-fresh').set('Authorization', bearer(access_token)), 200, { hello: 'from test' });
    });

    it('POST /refresh with the refresh token gives a new access token (and, rotated, a new refresh token)', async () => {
      const { refresh_token } = await login();
      const res = await request(server).post('/refresh').set('Authorization', bearer(refresh_token));
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body), ['access_token', 'refresh_token']);
    });

    it('the refreshed (non-fresh) token is refused on /protected-fresh: 401 Fresh token required', async () => {
      const { refresh_token } = await login();
      const { access_token } = (await request(server).post('/refresh').set('Authorization', bearer(refresh_token))).body;
      expectResponse(await request(server).get('/protected-fresh').set('Authorization', bearer(access_token)), 401, { msg: 'Fresh token required' });
    });

    it('the refreshed (non-fresh) token is accepted on /protected', async () => {
      const { refresh_token } = await login();
      const { access_token } = (await request(server).post('/refresh').set('Authorization', bearer(refresh_token))).body;
      expectResponse(await request(server).get('/protected').set('Authorization', bearer(access_token)), 200, { hello: 'world' });
    });

    it('POST /fresh-login gives a fresh access token only', async () => {
      const res = await request(server).post('/fresh-login').send({ username: 'test', password: 'test' });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.body), ['access_token']);
      expectResponse(await request(server).get('/protected-fresh').set('Authorization', bearer(res.body.access_token)), 200, { hello: 'from test' });
    });

    it('the refresh token is refused on /protected: 422 Only non-refresh tokens are allowed', async () => {
      const { refresh_token } = await login();
      expectResponse(await request(server).get('/protected').set('Authorization', bearer(refresh_token)), 422, { msg: 'Only non-refresh tokens are allowed' });
    });

    it('the access token is refused on /refresh: 422 Only refresh tokens are allowed', async () => {
      const { access_token } = await login();
      expectResponse(await request(server).post('/refresh').set('Authorization', bearer(access_token)), 422, { msg: 'Only refresh tokens are allowed' });
    });

    it('/whoami reads getJwtIdentity()', async () => {
      const { access_token } = await login();
      expectResponse(await request(server).get('/whoami').set('Authorization', bearer(access_token)), 200, { hello: 'from test' });
    });

    it('/claims shows the userClaimsLoader claims', async () => {
      const { access_token } = await login();
      expectResponse(await request(server).get('/claims').set('Authorization', bearer(access_token)), 200, { hello_is: 'test', foo_is: ['bar', 'baz'] });
    });
  });

  describe('the expired token loader', () => {
    it('an expired token: 200 with the seed JSON', async () => {
      const expired = await createAccessToken('test', { expiresIn: -5 });
      expectResponse(await request(server).get('/protected').set('Authorization', bearer(expired)), 200, { status: 401, sub_status: 101, msg: 'The token has expired' });
    });
  });

  describe('stored tokens', () => {
    it('/auth/tokens lists only the caller\'s tokens', async () => {
      const mine = await login('test');
      await login('admin');
      const res = await request(server).get('/auth/tokens').set('Authorization', bearer(mine.access_token));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.map((s: { token: { jti: string } }) => s.token.jti), [jtiOf(mine.refresh_token)]);
      assert.ok(res.body.every((s: { token: { sub: string }; revoked: boolean }) => s.token.sub === 'test' && s.revoked === false));
    });

    it('revoking my own refresh token: 200, then /refresh answers 401 Token has been revoked', async () => {
      const { access_token, refresh_token } = await login();
      const res = await request(server).put(`/auth/tokens/revoke/${jtiOf(refresh_token)}`).set('Authorization', bearer(access_token));
      expectResponse(res, 200, { msg: 'Token successfully revoked' });
      expectResponse(await request(server).post('/refresh').set('Authorization', bearer(refresh_token)), 401, { msg: 'Token has been revoked' });
    });

    it('unrevoking my own refresh token: 200, then /refresh works again', async () => {
      const { access_token, refresh_token } = await login();
      await request(server).put(`/auth/tokens/revoke/${jtiOf(refresh_token)}`).set('Authorization', bearer(access_token));
      const res = await request(server).put(`/auth/tokens/unrevoke/${jtiOf(refresh_token)}`).set('Authorization', bearer(access_token));
      expectResponse(res, 200, { msg: 'Token successfully unrevoked' });
      assert.equal((await request(server).post('/refresh').set('Authorization', bearer(refresh_token))).status, 200);
    });

    it("revoking someone else's token: 404 Token not found", async () => {
      const mine = await login('test');
      const theirs = await login('admin');
      const res = await request(server).put(`/auth/tokens/revoke/${jtiOf(theirs.refresh_token)}`).set('Authorization', bearer(mine.access_token));
      expectResponse(res, 404, { msg: 'Token not found' });
    });

    it("unrevoking someone else's token: 404 Token not found", async () => {
      const mine = await login('test');
      const theirs = await login('admin');
      const res = await request(server).put(`/auth/tokens/unrevoke/${jtiOf(theirs.refresh_token)}`).set('Authorization', bearer(mine.access_token));
      expectResponse(res, 404, { msg: 'Token not found' });
    });

    it('revoking an unknown jti: 404 Token not found', async () => {
      const { access_token } = await login();
      const res = await request(server).put('/auth/tokens/revoke/no-such-jti').set('Authorization', bearer(access_token));
      expectResponse(res, 404, { msg: 'Token not found' });
    });

    it('/auth/all-tokens for test: 403 Insufficient permissions (roles)', async () => {
      const { access_token } = await login('test');
      expectResponse(await request(server).get('/auth/all-tokens').set('Authorization', bearer(access_token)), 403, { msg: 'Insufficient permissions' });
    });

    it('/auth/all-tokens for admin: 200 with every stored token', async () => {
      const test = await login('test');
      const admin = await login('admin');
      const res = await request(server).get('/auth/all-tokens').set('Authorization', bearer(admin.access_token));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.map((s: { token: { jti: string } }) => s.token.jti).sort(), [jtiOf(test.refresh_token), jtiOf(admin.refresh_token)].sort());
    });

    it('/auth/all-tokens without a token: 401 Missing Authorization Header', async () => {
      expectResponse(await request(server).get('/auth/all-tokens'), 401, { msg: 'Missing Authorization Header' });
    });
  });

  describe('current user and roles', () => {
    it('/me answers the user loaded by userLookupLoader', async () => {
      const { access_token } = await login('admin');
      expectResponse(await request(server).get('/me').set('Authorization', bearer(access_token)), 200,
        { username: 'admin', display_name: 'The Administrator', roles: ['user', 'admin'] });
    });

    it('/me for a token of a user the demo does not know: 401 Error loading the user ghost', async () => {
      const token = await createAccessToken('ghost');
      expectResponse(await request(server).get('/me').set('Authorization', bearer(token)), 401, { msg: 'Error loading the user ghost' });
    });

    it('/admin for admin: 200; for test: 403 Insufficient permissions; without a token: 401', async () => {
      const admin = await login('admin');
      expectResponse(await request(server).get('/admin').set('Authorization', bearer(admin.access_token)), 200, { hello: 'administrator admin' });
      const user = await login('test');
      expectResponse(await request(server).get('/admin').set('Authorization', bearer(user.access_token)), 403, { msg: 'Insufficient permissions' });
      expectResponse(await request(server).get('/admin'), 401, { msg: 'Missing Authorization Header' });
    });

    it('/admin refuses a forged admin role (tampered claims): 422', async () => {
      const { access_token } = await login('test');
      const [header, payload, signature] = access_token.split('.');
      const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['admin'] };
      const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
      expectResponse(await request(server).get('/admin').set('Authorization', bearer(forged)), 422, { msg: 'Signature verification failed' });
    });
  });

  describe('login body validation: 400 JSON with a clear msg', () => {
    it('a missing password', async () => {
      const res = await request(server).post('/login').send({ username: 'test' });
      assert.equal(res.status, 400);
      assert.deepEqual(Object.keys(res.body), ['msg']);
      assert.match(res.body.msg, /password/);
    });

    it('a username of the wrong type', async () => {
      const res = await request(server).post('/login').send({ username: 42, password: 'test' });
      assert.equal(res.status, 400);
      assert.deepEqual(Object.keys(res.body), ['msg']);
      assert.match(res.body.msg, /username must be a string/);
    });

    it('an empty body', async () => {
      const res = await request(server).post('/login').set('Content-Type', 'application/json').send('{}');
      assert.equal(res.status, 400);
      assert.match(res.body.msg, /username/);
      assert.match(res.body.msg, /password/);
    });

    it('invalid JSON', async () => {
      const res = await request(server).post('/login').set('Content-Type', 'application/json').send('{"username": "secret-ish",');
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { msg: 'The body is not valid JSON' }); // the body is never echoed back
    });

    it('a JSON array body', async () => {
      const res = await request(server).post('/login').set('Content-Type', 'application/json').send('[]');
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(Object.keys(res.body), ['msg']);
    });

    it('a JSON string body', async () => {
      const res = await request(server).post('/login').set('Content-Type', 'application/json').send('"test"');
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(Object.keys(res.body), ['msg']);
    });

    it('a non-JSON content type with no body', async () => {
      const res = await request(server).post('/login').set('Content-Type', 'text/plain').send('username=test');
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(Object.keys(res.body), ['msg']);
    });
  });
});
