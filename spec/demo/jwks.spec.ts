import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createDemoApp } from '../../demo/app';
import { Algorithm, JwtManager } from '../../src';
import { loadJose } from '../support/app';
import { keyFor } from '../support/keys';

/** An independent JOSE implementation verifies the demo's tokens from its published JWK Set. */
describe('demo: GET /.well-known/jwks.json', () => {
  let server: Server;

  afterEach(() => {
    server?.close();
    JwtManager.reset();
  });

  async function login(): Promise<string> {
    const res = await request(server).post('/login').send({ username: 'test', password: 'test' });
    assert.equal(res.status, 200);
    return res.body.access_token;
  }

  for (const algorithm of ['RS256', 'PS256', 'ES256', 'ES384', 'PS512'] as Algorithm[]) {
    it(`${algorithm}: jose verifies a login token with createLocalJWKSet + jwtVerify`, async () => {
      const jose = await loadJose();
      server = createDemoApp({ jwt: { algorithm, secret: undefined, privateKey: keyFor(algorithm).privatePem } }).listen(0);
      const token = await login();
      const res = await request(server).get('/.well-known/jwks.json');
      assert.equal(res.status, 200);
      assert.equal(res.body.keys.length, 1);
      assert.equal(res.body.keys[0].alg, algorithm);
      const { payload, protectedHeader } = await jose.jwtVerify(token, jose.createLocalJWKSet(res.body), { algorithms: [algorithm] });
      assert.equal(protectedHeader.kid, res.body.keys[0].kid);
      assert.equal(payload.sub, 'test');
      assert.equal(payload.type, 'access');
    });
  }

  it('publishes public members only and may be cached', async () => {
    server = createDemoApp({ jwt: { algorithm: 'ES256', secret: undefined, privateKey: keyFor('ES256').privatePem } }).listen(0);
    const res = await request(server).get('/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body.keys[0]).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(res.headers['cache-control'], 'public, max-age=300');
  });

  it('with the default HS256 secret: an empty set', async () => {
    server = createDemoApp().listen(0);
    const res = await request(server).get('/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { keys: [] });
  });
});
