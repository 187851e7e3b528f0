import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { JwtManager } from '../../src';
import { accessClaims, craftToken, Jose, listenTestApp, loadJose } from '../support/app';
import { testKey } from '../support/keys';

/** A local server that counts every request: it must see none. */
function listenCountingServer(): Promise<{ server: Server; hits: () => number; url: string }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [] }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    resolve({ server, hits: () => hits, url: `http://127.0.0.1:${port}/jwks.json` });
  }));
}

describe('koa: key attacks are refused', () => {
  let server: Server;
  let jose: Jose;
  const ours = () => testKey('rsaA');
  const attacker = () => testKey('rsaB');

  before(async () => {
    jose = await loadJose();
    server = listenTestApp();
  });
  after(() => server.close());
  beforeEach(() => JwtManager.configure({ algorithm: 'RS256', kid: 'ours', privateKey: ours().privatePem }));
  afterEach(() => JwtManager.reset());

  async function get(token: string) {
    return request(server).get('/me').set('Authorization', `Bearer ${token}`);
  }

  describe('algorithm confusion', () => {
    it('an HS256 token keyed with our RSA public PEM: 422 alg not allowed', async () => {
      const res = await get(craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims(), Buffer.from(ours().publicPem)));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'The specified alg value is not allowed' });
    });

    it('the same, naming our kid: 422 alg not allowed', async () => {
      const res = await get(craftToken({ alg: 'HS256', kid: 'ours' }, accessClaims(), Buffer.from(ours().publicPem)));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'The specified alg value is not allowed' });
    });

    it("alg 'none' with an empty signature: 422 alg not allowed", async () => {
      const token = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(accessClaims())).toString('base64url')}.`;
      const res = await get(token);
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'The specified alg value is not allowed' });
    });

    it('a PS256 token signed with our own key, on an RS256 config: 422 alg not allowed', async () => {
      const res = await get(craftToken({ alg: 'PS256', kid: 'ours' }, accessClaims(), ours().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'The specified alg value is not allowed' });
    });
  });

  describe('kid', () => {
    it('an unknown kid: 422', async () => {
      const res = await get(craftToken({ alg: 'RS256', kid: 'nobody' }, accessClaims(), ours().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Unknown key id (kid)' });
    });

    it('a kid that looks like a path is only ever a map key: 422 unknown kid', async () => {
      const res = await get(craftToken({ alg: 'RS256', kid: '../../../../etc/passwd' }, accessClaims(), ours().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Unknown key id (kid)' });
    });

    it('a kid that is not a string: 422 unknown kid', async () => {
      const res = await get(craftToken({ alg: 'RS256', kid: { $ne: 1 } }, accessClaims(), ours().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Unknown key id (kid)' });
    });

    it('a crit header: 422', async () => {
      const res = await get(craftToken({ alg: 'RS256', kid: 'ours', crit: ['exp'] }, accessClaims(), ours().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Unsupported critical header parameters (crit)' });
    });
  });

  describe('key-carrying headers are never fetched or trusted', () => {
    let counter: Awaited<ReturnType<typeof listenCountingServer>>;
    beforeEach(async () => { counter = await listenCountingServer(); });
    afterEach(() => counter.server.close());

    for (const name of ['jku', 'x5u'] as const) {
      it(`${name} pointing at a local server, token signed by the attacker: 422 and zero hits`, async () => {
        const res = await get(craftToken({ alg: 'RS256', [name]: counter.url }, accessClaims(), attacker().privateKey));
        assert.equal(res.status, 422);
        assert.deepEqual(res.body, { msg: 'Signature verification failed' });
        assert.equal(counter.hits(), 0);
      });
    }

    it('an embedded jwk of the attacker key that signed it: 422', async () => {
      const jwk = await jose.exportJWK(attacker().publicKey);
      const res = await get(craftToken({ alg: 'RS256', jwk, jku: counter.url }, accessClaims(), attacker().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
      assert.equal(counter.hits(), 0);
    });

    it('an embedded jwk whose thumbprint is given as kid: 422 unknown kid', async () => {
      const jwk = await jose.exportJWK(attacker().publicKey);
      const kid = await jose.calculateJwkThumbprint(jwk);
      const res = await get(craftToken({ alg: 'RS256', jwk, kid }, accessClaims(), attacker().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Unknown key id (kid)' });
    });

    it('an x5c chain is ignored: 422', async () => {
      const res = await get(craftToken({ alg: 'RS256', x5c: ['MIIBIjANBgkq'], x5u: counter.url }, accessClaims(), attacker().privateKey));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
      assert.equal(counter.hits(), 0);
    });

    it('our own token carrying a jku is verified with our key alone: 200, zero hits', async () => {
      const res = await get(craftToken({ alg: 'RS256', kid: 'ours', jku: counter.url }, accessClaims(), ours().privateKey));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { identity: 'alice' });
      assert.equal(counter.hits(), 0);
    });
  });

  describe('ES signatures of the wrong shape', () => {
    beforeEach(() => JwtManager.configure({ algorithm: 'ES256', privateKey: testKey('p256').privatePem }));

    async function withSignature(transform: (signature: Buffer) => Buffer) {
      const [header, payload, signature] = (await JwtManager.instance.createAccessToken('alice')).split('.');
      return get(`${header}.${payload}.${transform(Buffer.from(signature, 'base64url')).toString('base64url')}`);
    }

    it('one byte short: 422, not 500', async () => {
      const res = await withSignature((s) => s.subarray(0, 63));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
    });

    it('one byte long: 422', async () => {
      const res = await withSignature((s) => Buffer.concat([s, Buffer.from([0])]));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
    });

    it('DER-encoded instead of raw r||s: 422', async () => {
      const res = await withSignature((s) => Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), s.subarray(0, 32), Buffer.from([0x02, 0x20]), s.subarray(32)]));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
    });

    it('empty: 422', async () => {
      const res = await withSignature(() => Buffer.alloc(0));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
    });

    it('all zeros of the right length: 422', async () => {
      const res = await withSignature(() => Buffer.alloc(64));
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
    });
  });
});
