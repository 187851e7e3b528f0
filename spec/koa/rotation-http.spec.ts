import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { JwtManager } from '../../src';
import { accessClaims, craftToken, listenTestApp, loadJose } from '../support/app';
import { TEST_SECRET, testKey } from '../support/keys';

function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
}

describe('koa: key rotation by kid', () => {
  let server: Server;
  const keyA = () => testKey('rsaA');
  const keyB = () => testKey('rsaB');

  before(() => { server = listenTestApp(); });
  after(() => server.close());
  afterEach(() => JwtManager.reset());

  async function get(token: string) {
    return request(server).get('/me').set('Authorization', `Bearer ${token}`);
  }

  /** Signs with A (kid a), then rotates to B (kid b), keeping A for verification. */
  async function tokenFromBeforeRotation(): Promise<string> {
    JwtManager.configure({ algorithm: 'RS256', kid: 'a', privateKey: keyA().privatePem });
    const token = await JwtManager.instance.createAccessToken('alice');
    JwtManager.configure({
      algorithm: 'RS256', kid: 'b', privateKey: keyB().privatePem,
      verificationKeys: [{ kid: 'a', publicKey: keyA().publicPem }],
    });
    return token;
  }

  it('a token signed before the rotation still opens the route', async () => {
    const res = await get(await tokenFromBeforeRotation());
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { identity: 'alice' });
  });

  it('tokens signed after the rotation carry kid b and open the route', async () => {
    await tokenFromBeforeRotation();
    const token = await JwtManager.instance.createAccessToken('bob');
    assert.equal(headerOf(token).kid, 'b');
    const res = await get(token);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { identity: 'bob' });
  });

  it('the JWK Set lists both keys, and jose verifies the old token from it', async () => {
    const jose = await loadJose();
    const token = await tokenFromBeforeRotation();
    const jwks = JwtManager.instance.jwks();
    assert.deepEqual(jwks.keys.map((k) => k.kid), ['b', 'a']);
    const { payload } = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks as never), { algorithms: ['RS256'] });
    assert.equal(payload.sub, 'alice');
  });

  it('once A is dropped, its tokens are refused: 422 unknown kid', async () => {
    const token = await tokenFromBeforeRotation();
    JwtManager.configure({ algorithm: 'RS256', kid: 'b', privateKey: keyB().privatePem });
    const res = await get(token);
    assert.equal(res.status, 422);
    assert.deepEqual(res.body, { msg: 'Unknown key id (kid)' });
  });

  it('a token naming kid a but signed with B: 422 signature verification failed', async () => {
    await tokenFromBeforeRotation();
    const res = await get(craftToken({ alg: 'RS256', kid: 'a' }, accessClaims(), keyB().privateKey));
    assert.equal(res.status, 422);
    assert.deepEqual(res.body, { msg: 'Signature verification failed' });
  });

  describe('a ring mixing algorithms (HS256 rotated out, ES256 now)', () => {
    beforeEach(() => JwtManager.configure({
      algorithm: 'ES256', kid: 'ec', privateKey: testKey('p256').privatePem,
      verificationKeys: [{ kid: 'old-hmac', algorithm: 'HS256', secret: TEST_SECRET }],
    }));

    it('an HS256 token with kid old-hmac still opens the route', async () => {
      const res = await get(craftToken({ alg: 'HS256', kid: 'old-hmac' }, accessClaims(), Buffer.from(TEST_SECRET)));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { identity: 'alice' });
    });

    it('an HS256 token naming the EC kid: 422 alg not allowed', async () => {
      const res = await get(craftToken({ alg: 'HS256', kid: 'ec' }, accessClaims(), Buffer.from(TEST_SECRET)));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'The specified alg value is not allowed' });
    });

    it('an HS256 token with no kid (the current key is ES256): 422 alg not allowed', async () => {
      const res = await get(craftToken({ alg: 'HS256' }, accessClaims(), Buffer.from(TEST_SECRET)));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'The specified alg value is not allowed' });
    });

    it('an HS256 token keyed with the EC public PEM, naming old-hmac: 422 signature verification failed', async () => {
      const res = await get(craftToken({ alg: 'HS256', kid: 'old-hmac' }, accessClaims(), Buffer.from(testKey('p256').publicPem)));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
    });

    it('the JWK Set holds the EC key only', () => {
      assert.deepEqual(JwtManager.instance.jwks().keys.map((k) => [k.kid, k.alg]), [['ec', 'ES256']]);
    });
  });
});
