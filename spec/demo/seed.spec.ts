import assert from 'node:assert/strict';
import request from 'supertest';
import type { Server } from 'node:http';
import { createDemoApp } from '../../demo/app';
import { JwtManager } from '../../src';

/** The seed README's curl session, against the demo app over real HTTP. */
describe('demo: the seed README curl session', () => {
  let server: Server;

  beforeEach(() => {
    server = createDemoApp().listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  async function login(username = 'test', password = 'test') {
    const res = await request(server).post('/login').send({ username, password });
    assert.equal(res.status, 200);
    return res.body as { access_token: string; refresh_token: string };
  }

  it('GET /protected without a token: 401 Missing Authorization Header', async () => {
    const res = await request(server).get('/protected');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Missing Authorization Header' });
  });

  it('POST /login gives an access token that opens /protected', async () => {
    const { access_token } = await login();
    const res = await request(server).get('/protected').set('Authorization', `Bearer ${access_token}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { hello: 'world' });
  });

  it('POST /login with a wrong password: 401 Bad username or password', async () => {
    const res = await request(server).post('/login').send({ username: 'test', password: 'nope' });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Bad username or password' });
  });
});
