import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController, Post } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, FreshJwtRequired, Identity, JwtManager, JwtRequired, MemoryTokenStore,
  RefreshRequired, revokeToken,
} from '../../src';
import { expectResponse, expectShortReason } from '../support/assert-response';
import { b64url, forge, forgeRaw, hmac, HS256_HEADER, nowSeconds, payload, token } from '../support/forge';
import { SECRET, serve, stop } from '../support/server';
import { CountingStore, FailingFindStore } from '../support/store';

@JsonController('/r')
class ResponsesController {
  @Get('/access')
  @JwtRequired()
  access(@Identity() who: string) {
    return { hello: who };
  }

  @Get('/fresh')
  @FreshJwtRequired()
  fresh(@Identity() who: string) {
    return { fresh: who };
  }

  @Post('/refresh')
  @RefreshRequired()
  refresh(@Identity() who: string) {
    return { refreshed: who };
  }
}

const BAD_HEADER = { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" };
const MISSING_TYPE = { msg: "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'" };

/** The default response table of DESIGN.md, row by row, over real HTTP. */
describe('koa: default responses', () => {
  let server: Server;
  afterEach(() => stop(server));

  function get(path: string, authorization?: string) {
    const req = request(server).get(path);
    return authorization === undefined ? req : req.set('Authorization', authorization);
  }
  const access = (authorization?: string) => get('/r/access', authorization);

  describe('the Authorization header', () => {
    beforeEach(() => { server = serve([ResponsesController]); });

    it('no header: 401 Missing Authorization Header', async () => {
      expectResponse(await access(), 401, { msg: 'Missing Authorization Header' });
    });

    it('a header with another scheme: 401 missing Bearer type', async () => {
      expectResponse(await access(`Basic ${b64url('a:b')}`), 401, MISSING_TYPE);
    });

    it('a bare token without the Bearer scheme: 401 missing Bearer type', async () => {
      expectResponse(await access(token()), 401, MISSING_TYPE);
    });

    it('Bearer with no token: 422 Bad Authorization header', async () => {
      expectResponse(await access('Bearer'), 422, BAD_HEADER);
    });

    it('Bearer with extra parts: 422 Bad Authorization header', async () => {
      expectResponse(await access(`Bearer ${token()} extra`), 422, BAD_HEADER);
    });

    it('a valid token opens the route: 200', async () => {
      expectResponse(await access(`Bearer ${token()}`), 200, { hello: 'alice' });
    });
  });

  describe('time claims', () => {
    beforeEach(() => { server = serve([ResponsesController]); });

    it('expired: 401 Token has expired', async () => {
      const now = nowSeconds();
      expectResponse(await access(`Bearer ${token({ iat: now - 100, nbf: now - 100, exp: now - 10 })}`), 401, { msg: 'Token has expired' });
    });

    it('a token issued expired by the library: 401 Token has expired', async () => {
      const expired = await createAccessToken('alice', { expiresIn: -10 });
      expectResponse(await access(`Bearer ${expired}`), 401, { msg: 'Token has expired' });
    });

    it('nbf in the future: 422 Token not yet valid', async () => {
      expectResponse(await access(`Bearer ${token({ nbf: nowSeconds() + 60 })}`), 422, { msg: 'Token not yet valid' });
    });

    it('iat in the future: 422 Token not yet valid', async () => {
      expectResponse(await access(`Bearer ${token({ iat: nowSeconds() + 60 })}`), 422, { msg: 'Token not yet valid' });
    });
  });

  describe('time claims within the leeway', () => {
    beforeEach(() => { server = serve([ResponsesController], { leeway: 120 }); });

    it('nbf and iat 60 s ahead with a 120 s leeway: 200', async () => {
      const ahead = nowSeconds() + 60;
      expectResponse(await access(`Bearer ${token({ nbf: ahead, iat: ahead })}`), 200, { hello: 'alice' });
    });

    it('exp 60 s past with a 120 s leeway: 200', async () => {
      const now = nowSeconds();
      expectResponse(await access(`Bearer ${token({ iat: now - 100, nbf: now - 100, exp: now - 60 })}`), 200, { hello: 'alice' });
    });
  });

  describe('signature and algorithm', () => {
    beforeEach(() => { server = serve([ResponsesController]); });

    it('signed with another secret: 422 Signature verification failed', async () => {
      const forged = forge(HS256_HEADER, payload(), { secret: 'another-secret-of-at-least-32-bytes-long' });
      expectResponse(await access(`Bearer ${forged}`), 422, { msg: 'Signature verification failed' });
    });

    it('a payload changed after signing: 422 Signature verification failed', async () => {
      const [header, , signature] = token().split('.');
      const tampered = `${header}.${b64url(JSON.stringify(payload({ sub: 'admin' })))}.${signature}`;
      expectResponse(await access(`Bearer ${tampered}`), 422, { msg: 'Signature verification failed' });
    });

    it('an HS512 token when HS256 is configured: 422 alg not allowed', async () => {
      const hs512 = forge({ alg: 'HS512', typ: 'JWT' }, payload(), { alg: 'HS512' });
      expectResponse(await access(`Bearer ${hs512}`), 422, { msg: 'The specified alg value is not allowed' });
    });

    for (const alg of ['none', 'None', 'NONE']) {
      it(`alg ${alg} with no signature: 422 alg not allowed`, async () => {
        const unsigned = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(payload()))}.`;
        expectResponse(await access(`Bearer ${unsigned}`), 422, { msg: 'The specified alg value is not allowed' });
      });

      it(`alg ${alg} with an HS256 signature: 422 alg not allowed`, async () => {
        expectResponse(await access(`Bearer ${forge({ alg, typ: 'JWT' }, payload())}`), 422, { msg: 'The specified alg value is not allowed' });
      });
    }

    it('HS256 with an empty signature: 422 Signature verification failed', async () => {
      const unsigned = `${b64url(JSON.stringify(HS256_HEADER))}.${b64url(JSON.stringify(payload()))}.`;
      expectResponse(await access(`Bearer ${unsigned}`), 422, { msg: 'Signature verification failed' });
    });

    it('no alg at all: 422 alg not allowed', async () => {
      expectResponse(await access(`Bearer ${forge({ typ: 'JWT' }, payload())}`), 422, { msg: 'The specified alg value is not allowed' });
    });

    it('a crit header: 422 with a short reason', async () => {
      const res = await access(`Bearer ${forge({ ...HS256_HEADER, crit: ['exp'] }, payload())}`);
      expectShortReason(res);
    });
  });

  describe('algorithm confusion (RS256 configured)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    beforeEach(() => {
      server = serve([ResponsesController], { secret: undefined, algorithm: 'RS256', privateKey, publicKey });
    });

    it('an RS256 token of the configured key: 200', async () => {
      expectResponse(await access(`Bearer ${await createAccessToken('alice')}`), 200, { hello: 'alice' });
    });

    it('an HS256 token signed with the public key as HMAC secret: 422 alg not allowed', async () => {
      const confused = forge({ alg: 'HS256', typ: 'JWT' }, payload(), { secret: publicPem });
      expectResponse(await access(`Bearer ${confused}`), 422, { msg: 'The specified alg value is not allowed' });
    });

    it('an RS256 header with an HMAC signature: 422 Signature verification failed', async () => {
      const forged = forge({ alg: 'RS256', typ: 'JWT' }, payload(), { secret: publicPem });
      expectResponse(await access(`Bearer ${forged}`), 422, { msg: 'Signature verification failed' });
    });
  });

  describe('malformed tokens: 422 with a short reason', () => {
    beforeEach(() => { server = serve([ResponsesController]); });
    const h = b64url(JSON.stringify(HS256_HEADER));
    const p = () => b64url(JSON.stringify(payload()));

    const cases: [string, () => string][] = [
      ['one segment', () => 'abcdef'],
      ['two segments', () => `${h}.${p()}`],
      ['four segments', () => `${token()}.abc`],
      ['bad base64url characters in the header', () => { const [, pay, sig] = token().split('.'); return `${h}*.${pay}.${sig}`; }],
      ['base64 "+" and "/" in the signature', () => { const [hd, pay] = token().split('.'); return `${hd}.${pay}.ab+/cd`; }],
      ['a header segment of length 4n+1', () => { const [, pay, sig] = token().split('.'); return `abcde.${pay}.${sig}`; }],
      ['a signature segment of length 4n+1', () => { const [hd, pay] = token().split('.'); return `${hd}.${pay}.abcde`; }],
      ['empty segments', () => '..'],
      ['a header that is not JSON', () => forgeRaw('{"alg":"HS256"', JSON.stringify(payload()))],
      ['a header that is a JSON array', () => forgeRaw('["HS256"]', JSON.stringify(payload()))],
      ['a header that is a JSON number', () => forgeRaw('256', JSON.stringify(payload()))],
      ['a header that is JSON null', () => forgeRaw('null', JSON.stringify(payload()))],
      ['a payload that is not JSON, validly signed', () => forgeRaw(JSON.stringify(HS256_HEADER), 'not json {')],
      ['a payload that is not JSON, badly signed', () => forgeRaw(JSON.stringify(HS256_HEADER), 'not json {', { secret: 'x'.repeat(40) })],
      ['a payload that is a JSON array', () => forgeRaw(JSON.stringify(HS256_HEADER), '[1,2]')],
      ['a payload that is a JSON string', () => forgeRaw(JSON.stringify(HS256_HEADER), '"alice"')],
      ['a payload that is a JSON number', () => forgeRaw(JSON.stringify(HS256_HEADER), '42')],
      ['a payload that is JSON null', () => forgeRaw(JSON.stringify(HS256_HEADER), 'null')],
      ['an empty payload segment', () => { const signingInput = `${h}.`; return `${signingInput}.${hmac(signingInput)}`; }],
      ['a token over 8192 characters', () => token({ pad: 'x'.repeat(9000) })],
    ];
    for (const [name, make] of cases) {
      it(`${name}: 422`, async () => {
        expectShortReason(await access(`Bearer ${make()}`));
      });
    }

    it('the forged non-JSON payload with typ JWT and a valid signature is 422, never 500', async () => {
      const res = await access(`Bearer ${forgeRaw('{"alg":"HS256","typ":"JWT"}', '\u0000\u00ff garbage')}`);
      expectShortReason(res);
    });
  });

  describe('claims (strict by default)', () => {
    beforeEach(() => { server = serve([ResponsesController]); });

    it('missing sub: 422 Missing claim: sub', async () => {
      expectResponse(await access(`Bearer ${token({ sub: undefined })}`), 422, { msg: 'Missing claim: sub' });
    });

    const invalid: [string, Record<string, unknown>][] = [
      ['sub a number', { sub: 42 }],
      ['sub an object', { sub: { id: 1 } }],
      ['sub null', { sub: null }],
      ['type missing', { type: undefined }],
      ['type unknown', { type: 'id' }],
      ['type in capitals', { type: 'ACCESS' }],
      ['jti missing', { jti: undefined }],
      ['jti a number', { jti: 7 }],
      ['exp missing', { exp: undefined }],
      ['exp a string', { exp: String(nowSeconds() + 600) }],
      ['exp an object', { exp: { $gt: 0 } }],
      ['exp null', { exp: null }],
      ['nbf a string', { nbf: 'now' }],
      ['nbf an object', { nbf: {} }],
      ['iat a string', { iat: '0' }],
      ['iat an array', { iat: [1] }],
      ['fresh a string', { fresh: 'true' }],
      ['fresh null', { fresh: null }],
      ['fresh an object', { fresh: { until: 1 } }],
    ];
    for (const [name, overrides] of invalid) {
      it(`${name}: 422`, async () => {
        expectShortReason(await access(`Bearer ${token(overrides)}`));
      });
    }

    for (const claim of ['exp', 'nbf', 'iat', 'fresh']) {
      it(`${claim} 1e400 (Infinity after JSON.parse): 422`, async () => {
        const text = JSON.stringify(payload()).replace(/\}$/, `,"${claim}":1e400}`).replace(new RegExp(`"${claim}":\\d+,`), '');
        expectShortReason(await access(`Bearer ${forgeRaw(JSON.stringify(HS256_HEADER), text)}`));
      });
    }
  });

  describe('token type and freshness', () => {
    beforeEach(() => { server = serve([ResponsesController]); });

    it('a refresh token on an access route: 422 Only non-refresh tokens are allowed', async () => {
      expectResponse(await access(`Bearer ${await createRefreshToken('alice')}`), 422, { msg: 'Only non-refresh tokens are allowed' });
    });

    it('an access token on a refresh route: 422 Only refresh tokens are allowed', async () => {
      const res = await request(server).post('/r/refresh').set('Authorization', `Bearer ${await createAccessToken('alice', { fresh: true })}`);
      expectResponse(res, 422, { msg: 'Only refresh tokens are allowed' });
    });

    it('a refresh token on the refresh route: 200', async () => {
      const res = await request(server).post('/r/refresh').set('Authorization', `Bearer ${await createRefreshToken('alice')}`);
      expectResponse(res, 200, { refreshed: 'alice' });
    });

    it('a non-fresh token on a fresh route: 401 Fresh token required', async () => {
      expectResponse(await get('/r/fresh', `Bearer ${await createAccessToken('alice')}`), 401, { msg: 'Fresh token required' });
    });

    it('a fresh token on a fresh route: 200', async () => {
      expectResponse(await get('/r/fresh', `Bearer ${await createAccessToken('alice', { fresh: true })}`), 200, { fresh: 'alice' });
    });

    it('a refresh token on a fresh route: 422 Only non-refresh tokens are allowed', async () => {
      expectResponse(await get('/r/fresh', `Bearer ${await createRefreshToken('alice')}`), 422, { msg: 'Only non-refresh tokens are allowed' });
    });
  });

  describe("revocation with checks 'all'", () => {
    let store: CountingStore;
    beforeEach(() => {
      store = new CountingStore();
      server = serve([ResponsesController], { revocation: { store, checks: 'all' } });
    });

    it('a stored, unrevoked access token: 200', async () => {
      expectResponse(await access(`Bearer ${await createAccessToken('alice')}`), 200, { hello: 'alice' });
    });

    it('a revoked access token: 401 Token has been revoked', async () => {
      const jwt = await createAccessToken('alice');
      await revokeToken(JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).jti);
      expectResponse(await access(`Bearer ${jwt}`), 401, { msg: 'Token has been revoked' });
    });

    it('a well-signed token the store does not know: 401 Token has been revoked', async () => {
      expectResponse(await access(`Bearer ${token()}`), 401, { msg: 'Token has been revoked' });
    });

    it('a token whose store was replaced (restart without persistence): 401 Token has been revoked', async () => {
      const jwt = await createAccessToken('alice');
      JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      expectResponse(await access(`Bearer ${jwt}`), 401, { msg: 'Token has been revoked' });
    });

    it('check order: a forged token never reaches the store', async () => {
      const forged = forge(HS256_HEADER, payload(), { secret: 'another-secret-of-at-least-32-bytes-long' });
      expectResponse(await access(`Bearer ${forged}`), 422, { msg: 'Signature verification failed' });
      assert.equal(store.finds, 0);
    });

    it('check order: an expired token never reaches the store', async () => {
      const expired = await createAccessToken('alice', { expiresIn: -10 });
      expectResponse(await access(`Bearer ${expired}`), 401, { msg: 'Token has expired' });
      assert.equal(store.finds, 0);
    });

    it('check order: a token of the wrong type never reaches the store', async () => {
      const refresh = await createRefreshToken('alice');
      expectResponse(await access(`Bearer ${refresh}`), 422, { msg: 'Only non-refresh tokens are allowed' });
      assert.equal(store.finds, 0);
    });

    it('check order: a non-fresh token on a fresh route never reaches the store', async () => {
      const stale = await createAccessToken('alice');
      expectResponse(await get('/r/fresh', `Bearer ${stale}`), 401, { msg: 'Fresh token required' });
      assert.equal(store.finds, 0);
    });

    it('a valid token asks the store exactly once', async () => {
      const jwt = await createAccessToken('alice');
      expectResponse(await access(`Bearer ${jwt}`), 200, { hello: 'alice' });
      assert.equal(store.finds, 1);
    });
  });

  describe("revocation with checks 'refresh'", () => {
    let store: CountingStore;
    beforeEach(() => {
      store = new CountingStore();
      server = serve([ResponsesController], { revocation: { store, checks: 'refresh' } });
    });

    it('an access token is not looked up: 200 with no store call', async () => {
      expectResponse(await access(`Bearer ${token()}`), 200, { hello: 'alice' });
      assert.equal(store.finds, 0);
    });

    it('a revoked refresh token: 401 Token has been revoked', async () => {
      const refresh = await createRefreshToken('alice');
      await revokeToken(JSON.parse(Buffer.from(refresh.split('.')[1], 'base64url').toString()).jti);
      const res = await request(server).post('/r/refresh').set('Authorization', `Bearer ${refresh}`);
      expectResponse(res, 401, { msg: 'Token has been revoked' });
    });

    it('a forged refresh token the store does not know: 401 Token has been revoked', async () => {
      const res = await request(server).post('/r/refresh').set('Authorization', `Bearer ${token({ type: 'refresh', fresh: undefined })}`);
      expectResponse(res, 401, { msg: 'Token has been revoked' });
    });
  });

  describe('a failing revocation store', () => {
    beforeEach(() => { server = serve([ResponsesController], { revocation: { store: new FailingFindStore(), checks: 'all' } }); });

    it('find rejects: 503 Token revocation store unavailable (fail closed)', async () => {
      expectResponse(await access(`Bearer ${token()}`), 503, { msg: 'Token revocation store unavailable' });
    });

    it('an expired token is refused as expired before the store is asked', async () => {
      const now = nowSeconds();
      expectResponse(await access(`Bearer ${token({ iat: now - 100, nbf: now - 100, exp: now - 1 })}`), 401, { msg: 'Token has expired' });
    });
  });
});
