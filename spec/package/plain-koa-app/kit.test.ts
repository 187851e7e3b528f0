/** The plain Koa app tested with the testing kit and node:test (no mocha, no supertest). */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { authHeader, expiredAccessToken, fakeAccessToken, fakeRefreshToken, revokedAccessToken, tamperToken } from 'koa-jwt-extended/testing';
import { app } from './server';

let server: ReturnType<typeof app.listen>;
let base = '';
before(async () => {
  server = await new Promise<ReturnType<typeof app.listen>>((resolve) => { const listening = app.listen(0, '127.0.0.1', () => resolve(listening)); });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => { server.close(() => resolve()); }));

async function get(path: string, token: string): Promise<[number, unknown]> {
  const response = await fetch(base + path, { headers: authHeader(token) });
  return [response.status, await response.json()];
}

test('a fake access token passes both doors', async () => {
  const token = await fakeAccessToken('bob');
  assert.deepEqual(await get('/protected', token), [200, { hello: 'bob' }]);
  assert.deepEqual(await get('/imperative', token), [200, { hello: 'bob', type: 'access' }]);
});

test('revoked, expired, tampered and refresh tokens are refused with the JSON the route answers', async () => {
  assert.deepEqual(await get('/protected', await revokedAccessToken('carol')), [401, { msg: 'Token has been revoked' }]);
  assert.deepEqual(await get('/imperative', await expiredAccessToken('dave')), [401, { msg: 'Token has expired' }]);
  assert.deepEqual(await get('/protected', tamperToken(await fakeAccessToken('erin'))), [422, { msg: 'Signature verification failed' }]);
  assert.deepEqual(await get('/imperative', await fakeRefreshToken('frank')), [422, { msg: 'Only non-refresh tokens are allowed' }]);
});
