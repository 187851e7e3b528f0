import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { decodeToken, JwtManager, JwtOptions } from '../../src';
import { KeySetUnavailableError } from '../../src';
import { jwksTiming } from '../../src/core/jwks';
import { accessClaims, craftToken } from '../support/app';
import { expectResponse } from '../support/assert-response';
import { JwksServer, unreachableUrl } from '../support/jwks-server';
import { testKey } from '../support/keys';
import { serve, stop } from '../support/server';
import { InteropController } from './interop-routes';

const DEFAULT_TIMING = { ...jwksTiming };

/** An RS256 token signed with a test RSA key under `kid`. */
function signed(kid: string | undefined, name: 'rsaA' | 'rsaB' | 'rsa1024' = 'rsaA', sub = 'alice'): string {
  const header = kid === undefined ? { alg: 'RS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid };
  return craftToken(header, accessClaims(sub), testKey(name).privateKey);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keys from a JWK Set URL, through real routes and a real HTTP key server. */
describe('koa: remote keys from jwksUri', () => {
  let jwks: JwksServer;
  let server: Server | undefined;

  beforeEach(async () => {
    jwks = await JwksServer.start();
    jwks.publish([{ kid: 'a', key: testKey('rsaA').publicKey }]);
  });
  afterEach(async () => {
    stop(server);
    await jwks.stop();
    Object.assign(jwksTiming, DEFAULT_TIMING);
  });

  function start(options: Partial<JwtOptions> = {}): void {
    server = serve([InteropController], { secret: undefined, algorithm: 'RS256', jwksUri: jwks.url, ...options });
  }

  const me = (token: string) => request(server!).get('/interop/me').set('Authorization', `Bearer ${token}`);

  it('the contract timings: a refetch on an unknown kid at most every 30 s (jwksCooldown), a 5 s timeout, a first backoff of 1 s', () => {
    assert.deepEqual(DEFAULT_TIMING, { timeoutMs: 5_000, firstBackoffMs: 1_000 });
    start();
    assert.deepEqual(JwtManager.instance.config.jwksTiming, { cacheMaxAgeSeconds: 600, cooldownSeconds: 30 });
  });

  it('a token signed with a key of the set opens the route', async () => {
    start();
    expectResponse(await me(signed('a')), 200, { identity: 'alice' });
  });

  it('a token signed with another key under a published kid: 422 Signature verification failed', async () => {
    start();
    expectResponse(await me(signed('a', 'rsaB')), 422, { msg: 'Signature verification failed' });
  });

  it('caching: many tokens under one kid cost one fetch', async () => {
    start();
    for (const sub of ['u1', 'u2', 'u3', 'u4', 'u5']) expectResponse(await me(signed('a', 'rsaA', sub)), 200, { identity: sub });
    assert.equal(jwks.fetches, 1);
  });

  it('concurrent first requests share one fetch', async () => {
    start();
    const answers = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((sub) => me(signed('a', 'rsaA', sub))));
    assert.deepEqual(answers.map((res) => res.status), [200, 200, 200, 200]);
    assert.equal(jwks.fetches, 1);
  });

  it('jwksCacheMaxAge: once the set is older, the next request fetches it again', async () => {
    start({ jwksCacheMaxAge: 1 });
    expectResponse(await me(signed('a', 'rsaA', 'u1')), 200, { identity: 'u1' });
    await sleep(1100);
    expectResponse(await me(signed('a', 'rsaA', 'u2')), 200, { identity: 'u2' });
    assert.equal(jwks.fetches, 2);
  });

  it('rotation: a token with a new kid triggers exactly one refetch and passes', async () => {
    start({ jwksCooldown: 1 });
    expectResponse(await me(signed('a')), 200, { identity: 'alice' });
    jwks.publish([{ kid: 'a', key: testKey('rsaA').publicKey }, { kid: 'b', key: testKey('rsaB').publicKey }]);
    await sleep(1100);
    expectResponse(await me(signed('b', 'rsaB')), 200, { identity: 'alice' });
    assert.equal(jwks.fetches, 2);
  });

  it('an unknown kid after the refetch: 422 Unknown key id (kid)', async () => {
    start({ jwksCooldown: 1 });
    expectResponse(await me(signed('a')), 200, { identity: 'alice' });
    await sleep(1100);
    expectResponse(await me(signed('nobody')), 422, { msg: 'Unknown key id (kid)' });
    assert.equal(jwks.fetches, 2);
  });

  it('rate limit: within the cooldown, unknown kids cause no refetch at all', async () => {
    start();
    expectResponse(await me(signed('a')), 200, { identity: 'alice' });
    for (let i = 0; i < 10; i += 1) expectResponse(await me(signed(`forged-${i}`)), 422, { msg: 'Unknown key id (kid)' });
    assert.equal(jwks.fetches, 1);
  });

  it('rate limit: once the cooldown has passed, many unknown kids cause one refetch', async () => {
    start({ jwksCooldown: 1 });
    expectResponse(await me(signed('a')), 200, { identity: 'alice' });
    await sleep(1100);
    for (let i = 0; i < 10; i += 1) expectResponse(await me(signed(`forged-${i}`)), 422, { msg: 'Unknown key id (kid)' });
    assert.equal(jwks.fetches, 2);
  });

  it('a key removed from the set stops verifying cached tokens after the next refetch', async () => {
    start({ jwksCooldown: 1 });
    const old = signed('a');
    expectResponse(await me(old), 200, { identity: 'alice' }); // verified and cached
    jwks.publish([{ kid: 'b', key: testKey('rsaB').publicKey }]);
    await sleep(1100);
    expectResponse(await me(signed('b', 'rsaB')), 200, { identity: 'alice' }); // the refetch
    expectResponse(await me(old), 422, { msg: 'Unknown key id (kid)' });
  });

  it('a key removed from the set stops verifying cached tokens once the cache max age has passed', async () => {
    start({ jwksCacheMaxAge: 1 });
    const old = signed('a');
    expectResponse(await me(old), 200, { identity: 'alice' });
    jwks.publish([{ kid: 'b', key: testKey('rsaB').publicKey }]);
    expectResponse(await me(old), 200, { identity: 'alice' }); // still within the max age: the cached verification stands
    await sleep(1100);
    expectResponse(await me(old), 422, { msg: 'Unknown key id (kid)' });
  });

  it('an unreachable key set: 503 Key set unavailable', async () => {
    start({ jwksUri: await unreachableUrl() });
    expectResponse(await me(signed('a')), 503, { msg: 'Key set unavailable' });
  });

  it('a key set answering 500: 503 Key set unavailable', async () => {
    jwks.mode = 'error';
    start();
    expectResponse(await me(signed('a')), 503, { msg: 'Key set unavailable' });
  });

  it('a key set answering something that is not JSON: 503 Key set unavailable', async () => {
    jwks.mode = 'garbage';
    start();
    expectResponse(await me(signed('a')), 503, { msg: 'Key set unavailable' });
  });

  it('a key set that does not answer in time: 503 Key set unavailable', async () => {
    jwksTiming.timeoutMs = 300;
    jwks.mode = 'hang';
    start();
    expectResponse(await me(signed('a')), 503, { msg: 'Key set unavailable' });
  });

  it('a key set that comes back: refused at once (no fetch) during the backoff, then the next request passes', async () => {
    jwksTiming.firstBackoffMs = 300;
    jwks.mode = 'error';
    start();
    expectResponse(await me(signed('a')), 503, { msg: 'Key set unavailable' });
    jwks.mode = 'ok';
    expectResponse(await me(signed('a')), 503, { msg: 'Key set unavailable' });
    assert.equal(jwks.fetches, 1);
    await sleep(350);
    expectResponse(await me(signed('a')), 200, { identity: 'alice' });
    assert.equal(jwks.fetches, 2);
  });

  it('storeUnavailableLoader answers the 503 of the key set', async () => {
    jwks.mode = 'error';
    start({ storeUnavailableLoader: (reason) => ({ status: 503, body: { error: reason, retry: true } }) });
    expectResponse(await me(signed('a')), 503, { error: 'Key set unavailable', retry: true });
  });

  it('decodeToken rejects with KeySetUnavailableError, the fetch error as its cause', async () => {
    start({ jwksUri: await unreachableUrl() });
    await assert.rejects(decodeToken(signed('a')), (error: unknown) => error instanceof KeySetUnavailableError && error.status === 503 && error.cause !== undefined);
  });

  it('decodeToken verifies with the remote key', async () => {
    start();
    assert.equal((await decodeToken(signed('a'))).sub, 'alice');
  });

  it('alg confusion: HS256 signed with the RSA public key as HMAC secret: 422 The specified alg value is not allowed', async () => {
    start();
    const publicPem = testKey('rsaA').publicPem;
    const confused = craftToken({ alg: 'HS256', typ: 'JWT', kid: 'a' }, accessClaims(), Buffer.from(publicPem));
    expectResponse(await me(confused), 422, { msg: 'The specified alg value is not allowed' });
    assert.equal(jwks.fetches, 0);
  });

  it("alg 'none': 422 The specified alg value is not allowed", async () => {
    start();
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: 'a' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(accessClaims())).toString('base64url');
    expectResponse(await me(`${header}.${body}.`), 422, { msg: 'The specified alg value is not allowed' });
  });

  it('a published 1024-bit RSA key does not fit RS256: 422 The specified alg value is not allowed', async () => {
    jwks.publish([{ kid: 'weak', key: testKey('rsa1024').publicKey }]);
    start();
    expectResponse(await me(signed('weak', 'rsa1024')), 422, { msg: 'The specified alg value is not allowed' });
  });

  it('a kid that is not a string: 422 Unknown key id (kid), without a fetch', async () => {
    start();
    const token = craftToken({ alg: 'RS256', kid: 7 }, accessClaims(), testKey('rsaA').privateKey);
    expectResponse(await me(token), 422, { msg: 'Unknown key id (kid)' });
    assert.equal(jwks.fetches, 0);
  });

  it('a token without kid is verified with the only key of the set', async () => {
    start();
    expectResponse(await me(signed(undefined)), 200, { identity: 'alice' });
  });

  it('a token without kid against a set of several keys: 422', async () => {
    jwks.publish([{ kid: 'a', key: testKey('rsaA').publicKey }, { kid: 'b', key: testKey('rsaB').publicKey }]);
    start();
    expectResponse(await me(signed(undefined)), 422, { msg: 'Several keys match this token: it needs a key id (kid)' });
  });
});
