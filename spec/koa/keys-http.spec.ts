import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Algorithm, JwtManager, JwtOptions } from '../../src';
import { accessClaims, Jose, listenTestApp, loadJose } from '../support/app';
import { keyFor, TEST_SECRET } from '../support/keys';

const ALGORITHMS: Algorithm[] = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA',
];

function optionsFor(algorithm: Algorithm): JwtOptions {
  if (algorithm.startsWith('HS')) return { algorithm, secret: TEST_SECRET };
  const { privatePem, publicPem } = keyFor(algorithm);
  return { algorithm, privateKey: privatePem, publicKey: publicPem };
}

/** What jose verifies with: the secret bytes, or our own JWK Set. */
function joseKeyFor(jose: Jose, algorithm: Algorithm) {
  if (algorithm.startsWith('HS')) return Buffer.from(TEST_SECRET);
  return jose.createLocalJWKSet(JwtManager.instance.jwks() as never);
}

/** What jose signs with: the secret bytes or the private KeyObject. */
function joseSigningKeyFor(algorithm: Algorithm) {
  return algorithm.startsWith('HS') ? Buffer.from(TEST_SECRET) : keyFor(algorithm).privateKey;
}

describe('koa: every algorithm end to end, cross-checked with jose', () => {
  let server: Server;
  let jose: Jose;

  before(async () => {
    jose = await loadJose();
    server = listenTestApp();
  });
  after(() => server.close());
  afterEach(() => JwtManager.reset());

  for (const algorithm of ALGORITHMS) {
    describe(algorithm, () => {
      beforeEach(() => JwtManager.configure(optionsFor(algorithm)));

      it('a token we create opens the protected route', async () => {
        const token = await JwtManager.instance.createAccessToken('alice');
        const res = await request(server).get('/me').set('Authorization', `Bearer ${token}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { identity: 'alice' });
      });

      it('jose verifies a token we create', async () => {
        const token = await JwtManager.instance.createAccessToken('alice', { fresh: true });
        const { payload, protectedHeader } = await jose.jwtVerify(token, joseKeyFor(jose, algorithm) as never, { algorithms: [algorithm] });
        assert.equal(protectedHeader.alg, algorithm);
        assert.equal(protectedHeader.kid, JwtManager.instance.config.keys.signing.kid);
        assert.equal(payload.sub, 'alice');
        assert.equal(payload.type, 'access');
        assert.equal(payload.fresh, true);
      });

      it('a token jose signs opens the protected route', async () => {
        const token = await new jose.SignJWT(accessClaims('bob')).setProtectedHeader({ alg: algorithm }).sign(joseSigningKeyFor(algorithm));
        const res = await request(server).get('/me').set('Authorization', `Bearer ${token}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { identity: 'bob' });
      });

      if (algorithm.startsWith('HS')) return; // HMAC without a configured kid: tokens carry none
      it('a token jose signs with our kid (the key thumbprint) opens the protected route', async () => {
        const kid = await jose.calculateJwkThumbprint(await jose.exportJWK(keyFor(algorithm).publicKey));
        const token = await new jose.SignJWT(accessClaims('bob')).setProtectedHeader({ alg: algorithm, kid }).sign(joseSigningKeyFor(algorithm));
        const res = await request(server).get('/me').set('Authorization', `Bearer ${token}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { identity: 'bob' });
      });
    });
  }

  describe('publicKey only', () => {
    beforeEach(() => JwtManager.configure({ algorithm: 'RS256', publicKey: keyFor('RS256').publicPem }));

    it('verifies a token signed elsewhere with the private key', async () => {
      const token = await new jose.SignJWT(accessClaims('carol')).setProtectedHeader({ alg: 'RS256' }).sign(keyFor('RS256').privateKey);
      const res = await request(server).get('/me').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { identity: 'carol' });
    });

    it('refuses a token signed with another algorithm of the same key', async () => {
      const token = await new jose.SignJWT(accessClaims('carol')).setProtectedHeader({ alg: 'PS256' }).sign(keyFor('RS256').privateKey);
      const res = await request(server).get('/me').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'The specified alg value is not allowed' });
    });
  });
});
