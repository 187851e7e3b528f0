import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createAccessToken, InvalidTokenError, JwtOptions, JwtUsageError, MemoryTokenStore, revokeToken } from '../../src';
import { accessClaims, craftToken } from '../support/app';
import { expectResponse } from '../support/assert-response';
import { testKey, TEST_SECRET } from '../support/keys';
import { serve, stop } from '../support/server';
import { InteropController } from './interop-routes';

const TENANT_SECRETS: Record<string, string> = {
  'https://tenant-a.example': 'tenant-a-secret-0123456789-abcdefghijkl',
  'https://tenant-b.example': 'tenant-b-secret-0123456789-abcdefghijkl',
};

function tenantToken(iss: string, secret = TENANT_SECRETS[iss], header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }, claims: Record<string, unknown> = {}): string {
  return craftToken(header, accessClaims('alice', { iss, ...claims }), Buffer.from(secret));
}

/** decodeKeyLoader (fje's decode_key_loader): the app picks the key per token. */
describe('koa: per-token keys from decodeKeyLoader', () => {
  let server: Server | undefined;
  afterEach(() => stop(server));

  const tenantKeys = (_header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>) => TENANT_SECRETS[payload.iss as string];

  function start(options: Partial<JwtOptions>): void {
    server = serve([InteropController], { secret: undefined, ...options });
  }

  const me = (token: string) => request(server!).get('/interop/me').set('Authorization', `Bearer ${token}`);

  it("a tenant's token signed with its own secret passes", async () => {
    start({ decodeKeyLoader: tenantKeys });
    expectResponse(await me(tenantToken('https://tenant-b.example')), 200, { identity: 'alice' });
  });

  it("a token claiming tenant B but signed with tenant A's secret: 422 Signature verification failed", async () => {
    start({ decodeKeyLoader: tenantKeys });
    const crossed = tenantToken('https://tenant-b.example', TENANT_SECRETS['https://tenant-a.example']);
    expectResponse(await me(crossed), 422, { msg: 'Signature verification failed' });
  });

  it('no key for the token (the loader answers undefined): 422 No verification key for this token', async () => {
    start({ decodeKeyLoader: tenantKeys });
    expectResponse(await me(tenantToken('https://stranger.example', TEST_SECRET)), 422, { msg: 'No verification key for this token' });
  });

  it('an async loader works the same', async () => {
    start({ decodeKeyLoader: async (header, payload) => tenantKeys(header, payload) });
    expectResponse(await me(tenantToken('https://tenant-a.example')), 200, { identity: 'alice' });
  });

  it('the loader gets the unverified header and payload, frozen', async () => {
    const seen: Readonly<Record<string, unknown>>[] = [];
    start({ decodeKeyLoader: (header, payload) => (seen.push(header, payload), tenantKeys(header, payload)) });
    await me(tenantToken('https://tenant-a.example', undefined, { alg: 'HS256', typ: 'JWT', kid: 'k7' }));
    assert.deepEqual([seen[0].kid, seen[1].iss, Object.isFrozen(seen[0]), Object.isFrozen(seen[1])], ['k7', 'https://tenant-a.example', true, true]);
  });

  it('never cached: a key the loader stops returning stops verifying at once', async () => {
    const secrets = { ...TENANT_SECRETS };
    start({ decodeKeyLoader: (_header, payload) => secrets[payload.iss as string] });
    const token = tenantToken('https://tenant-a.example');
    expectResponse(await me(token), 200, { identity: 'alice' });
    delete secrets['https://tenant-a.example'];
    expectResponse(await me(token), 422, { msg: 'No verification key for this token' });
  });

  it('a loader that refuses with a JwtError: its status and message', async () => {
    start({ decodeKeyLoader: () => { throw new InvalidTokenError('Unknown tenant'); } });
    expectResponse(await me(tenantToken('https://tenant-a.example')), 422, { msg: 'Unknown tenant' });
  });

  it('alg confusion: a PEM public key returned for an HS256 token is never an HMAC secret: 422', async () => {
    const publicPem = testKey('rsaA').publicPem;
    start({ decodeKeyLoader: () => publicPem });
    const confused = craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims(), Buffer.from(publicPem));
    expectResponse(await me(confused), 422, { msg: 'The specified alg value is not allowed' });
  });

  it('a secret shorter than the hash returned by the loader: 422', async () => {
    start({ decodeKeyLoader: () => 'short' });
    expectResponse(await me(tenantToken('https://tenant-a.example', 'short')), 422, { msg: 'The specified alg value is not allowed' });
  });

  it('RS256: a public key from the loader verifies', async () => {
    start({ algorithm: 'RS256', decodeKeyLoader: () => testKey('rsaA').publicKey });
    expectResponse(await me(craftToken({ alg: 'RS256' }, accessClaims(), testKey('rsaA').privateKey)), 200, { identity: 'alice' });
  });

  it('RS256: the allow-list still applies (an HS256 token is refused before the loader runs)', async () => {
    let calls = 0;
    start({ algorithm: 'RS256', decodeKeyLoader: () => (calls += 1, testKey('rsaA').publicKey) });
    expectResponse(await me(tenantToken('https://tenant-a.example')), 422, { msg: 'The specified alg value is not allowed' });
    assert.equal(calls, 0);
  });

  it('without a key of its own the configuration only verifies: createAccessToken is a usage error', async () => {
    start({ decodeKeyLoader: tenantKeys });
    await assert.rejects(createAccessToken('alice'), (error: unknown) => error instanceof JwtUsageError && /no key to create them/.test(error.message));
  });

  describe('revokeToken() given the token string (blocklist mode): it is verified with the loaded key first', () => {
    const revocation = () => ({ store: new MemoryTokenStore(), checks: 'all' as const, mode: 'blocklist' as const });
    const loaders = {
      'an async loader': async (header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>) => tenantKeys(header, payload),
      'a sync loader': tenantKeys,
    };
    for (const [name, loader] of Object.entries(loaders)) {
      it(`${name}: a token never presented before is revoked, and its next request is 401 Token has been revoked`, async () => {
        start({ decodeKeyLoader: loader, revocation: revocation() });
        const token = tenantToken('https://tenant-a.example');
        await revokeToken(token); // was a JwtUsageError ("use decodeToken()"): the loaded key needs a promise
        expectResponse(await me(token), 401, { msg: 'Token has been revoked' });
        expectResponse(await me(tenantToken('https://tenant-a.example')), 200, { identity: 'alice' }); // another token of alice's still passes
      });
    }

    it("refused: a token signed with another tenant's secret is not taken as a revocation (422, nothing stored)", async () => {
      const store = new MemoryTokenStore();
      start({ decodeKeyLoader: loaders['an async loader'], revocation: { store, checks: 'all', mode: 'blocklist' } });
      const jti = 'forged-jti';
      const forged = craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('alice', { iss: 'https://tenant-b.example', jti }), Buffer.from(TENANT_SECRETS['https://tenant-a.example']));
      await assert.rejects(revokeToken(forged), (error: unknown) => error instanceof InvalidTokenError && error.message === 'Signature verification failed');
      assert.equal(await store.find(jti), undefined);
    });

    it('an expired token can still be revoked (allowExpired), a token from no tenant cannot (No verification key)', async () => {
      start({ decodeKeyLoader: loaders['an async loader'], revocation: revocation() });
      const past = Math.floor(Date.now() / 1000) - 3600;
      await revokeToken(tenantToken('https://tenant-a.example', undefined, undefined, { iat: past, nbf: past, exp: past + 60 }));
      await assert.rejects(revokeToken(tenantToken('https://stranger.example', TEST_SECRET)), (error: unknown) => error instanceof InvalidTokenError && error.message === 'No verification key for this token');
    });
  });

  it('RS256: an EC key from the loader does not fit: 422', async () => {
    start({ algorithm: 'RS256', decodeKeyLoader: () => testKey('p256').publicKey });
    expectResponse(await me(craftToken({ alg: 'RS256' }, accessClaims(), testKey('rsaA').privateKey)), 422, { msg: 'The specified alg value is not allowed' });
  });
});
