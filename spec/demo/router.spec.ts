import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createRouterDemoApp } from '../../demo/koa-router';
import { JwtManager } from '../../src';

/** The seed README's curl session against the plain Koa + @koa/router demo. */
describe('demo: plain Koa + @koa/router (no routing-controllers)', () => {
  let server: Server;
  beforeEach(() => {
    server = createRouterDemoApp().listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  async function login() {
    const res = await request(server).post('/login').send({ username: 'test', password: 'test' });
    assert.equal(res.status, 200);
    return res.body as { access_token: string; refresh_token: string };
  }

  it('GET /protected without a token: 401 Missing Authorization Header, with the Bearer challenge', async () => {
    const res = await request(server).get('/protected');
    assert.deepEqual([res.status, res.body, res.headers['www-authenticate']], [401, { msg: 'Missing Authorization Header' }, 'Bearer']);
  });

  it('POST /login gives tokens; the access token opens /protected', async () => {
    const { access_token, refresh_token } = await login();
    assert.ok(refresh_token);
    const res = await request(server).get('/protected').set('Authorization', `Bearer ${access_token}`);
    assert.deepEqual([res.status, res.body], [200, { hello: 'world' }]);
  });

  it('a bad login: 401 Bad username or password; junk JSON: 400, no stack', async () => {
    const bad = await request(server).post('/login').send({ username: 'test', password: 'nope' });
    assert.deepEqual([bad.status, bad.body], [401, { msg: 'Bad username or password' }]);
    const junk = await request(server).post('/login').set('Content-Type', 'application/json').send('{"username":');
    assert.deepEqual([junk.status, junk.body], [400, { msg: 'The body is not valid JSON' }]);
  });

  it('POST /refresh takes the refresh token, not the access token', async () => {
    const { access_token, refresh_token } = await login();
    const refused = await request(server).post('/refresh').set('Authorization', `Bearer ${access_token}`);
    assert.deepEqual([refused.status, refused.body], [422, { msg: 'Only refresh tokens are allowed' }]);
    const res = await request(server).post('/refresh').set('Authorization', `Bearer ${refresh_token}`);
    assert.equal(res.status, 200);
    const stale = await request(server).get('/protected-fresh').set('Authorization', `Bearer ${res.body.access_token}`);
    assert.deepEqual([stale.status, stale.body], [401, { msg: 'Fresh token required' }]);
  });

  it('the fresh route, the claims and the imperative optional check', async () => {
    const { access_token } = await login();
    const fresh = await request(server).get('/protected-fresh').set('Authorization', `Bearer ${access_token}`);
    assert.deepEqual(fresh.body, { hello: 'from test' });
    const claims = await request(server).get('/claims').set('Authorization', `Bearer ${access_token}`);
    assert.deepEqual(claims.body, { hello: 'test', foo: ['bar', 'baz'] });
    const anonymous = await request(server).get('/partially-protected');
    assert.deepEqual(anonymous.body, { hello: 'anonymous user' });
    const known = await request(server).get('/partially-protected').set('Authorization', `Bearer ${access_token}`);
    assert.deepEqual(known.body, { hello: 'test' });
    const forged = await request(server).get('/partially-protected').set('Authorization', 'Bearer a.b.c');
    assert.equal(forged.status, 422);
  });
});
