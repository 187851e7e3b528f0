import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import { createAccessToken, FreshJwtRequired, JwtManager, JwtRequired, MemoryTokenStore, revokeToken } from '../../src';
import type { JwtOptions } from '../../src';
import { expectResponse } from '../support/assert-response';
import { forge, HS256_HEADER, nowSeconds, payload, token } from '../support/forge';
import { serve, stop } from '../support/server';

@JsonController('/l')
class LoaderController {
  @Get('/access')
  @JwtRequired()
  access() {
    return { ok: true };
  }

  @Get('/fresh')
  @FreshJwtRequired()
  fresh() {
    return { ok: true };
  }
}

function jtiOf(jwt: string): string {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).jti;
}

const expiredToken = () => {
  const now = nowSeconds();
  return token({ iat: now - 100, nbf: now - 100, exp: now - 10 });
};

/** Each response loader: its argument, its answer sent exactly, and the fall-backs. */
describe('koa: response loaders', () => {
  let server: Server;
  let calls: unknown[];
  afterEach(() => stop(server));
  beforeEach(() => { calls = []; });

  const access = (authorization?: string) => {
    const req = request(server).get('/l/access');
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };
  const recording = (status: number, body: unknown) => (argument: unknown) => {
    calls.push(argument);
    return { status, body };
  };
  const start = (options: Partial<JwtOptions>) => { server = serve([LoaderController], options); };

  describe('as configure() options', () => {
    it('unauthorizedLoader gets the reason and answers exactly', async () => {
      start({ unauthorizedLoader: recording(403, { error: 'login first' }) });
      expectResponse(await access(), 403, { error: 'login first' });
      assert.deepEqual(calls, ['Missing Authorization Header']);
    });

    it('unauthorizedLoader answers a wrong scheme too', async () => {
      start({ unauthorizedLoader: recording(401, { why: 'scheme' }) });
      expectResponse(await access('Basic abc'), 401, { why: 'scheme' });
      assert.deepEqual(calls, ["Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"]);
    });

    it('invalidTokenLoader gets the reason of a bad signature', async () => {
      start({ invalidTokenLoader: recording(400, { invalid: true }) });
      const forged = forge(HS256_HEADER, payload(), { secret: 'another-secret-of-at-least-32-bytes-long' });
      expectResponse(await access(`Bearer ${forged}`), 400, { invalid: true });
      assert.deepEqual(calls, ['Signature verification failed']);
    });

    it('invalidTokenLoader answers a wrong token type', async () => {
      start({ invalidTokenLoader: recording(422, { wrongType: true }) });
      expectResponse(await access(`Bearer ${token({ type: 'refresh', fresh: undefined })}`), 422, { wrongType: true });
      assert.deepEqual(calls, ['Only non-refresh tokens are allowed']);
    });

    it('invalidTokenLoader answers a bad header', async () => {
      start({ invalidTokenLoader: recording(418, 'teapot') });
      const res = await access('Bearer');
      assert.equal(res.status, 418);
      assert.equal(res.text, 'teapot');
      assert.deepEqual(calls, ["Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"]);
    });

    it("expiredTokenLoader gets the payload; the seed's 200 with its own JSON is sent as is", async () => {
      start({ expiredTokenLoader: recording(200, { status: 401, sub_status: 101, msg: 'The token has expired' }) });
      const expired = expiredToken();
      expectResponse(await access(`Bearer ${expired}`), 200, { status: 401, sub_status: 101, msg: 'The token has expired' });
      assert.equal(calls.length, 1);
      assert.deepEqual(calls[0], JSON.parse(Buffer.from(expired.split('.')[1], 'base64url').toString()));
    });

    it('needsFreshTokenLoader gets the payload', async () => {
      start({ needsFreshTokenLoader: recording(403, { reauthenticate: true }) });
      const stale = await createAccessToken('alice');
      const res = await request(server).get('/l/fresh').set('Authorization', `Bearer ${stale}`);
      expectResponse(res, 403, { reauthenticate: true });
      assert.equal(calls.length, 1);
      assert.equal((calls[0] as { sub: string }).sub, 'alice');
      assert.equal((calls[0] as { fresh: boolean }).fresh, false);
      assert.equal((calls[0] as { jti: string }).jti, jtiOf(stale));
    });

    it('revokedTokenLoader gets the payload', async () => {
      start({ revocation: { store: new MemoryTokenStore(), checks: 'all' }, revokedTokenLoader: recording(401, { revoked: 'yes' }) });
      const jwt = await createAccessToken('alice');
      await revokeToken(jtiOf(jwt));
      expectResponse(await access(`Bearer ${jwt}`), 401, { revoked: 'yes' });
      assert.equal(calls.length, 1);
      assert.equal((calls[0] as { jti: string }).jti, jtiOf(jwt));
    });

    it('an async loader is awaited', async () => {
      start({
        expiredTokenLoader: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return { status: 419, body: { late: true } };
        },
      });
      expectResponse(await access(`Bearer ${expiredToken()}`), 419, { late: true });
    });

    it('a loader that throws: the default answer', async () => {
      start({ expiredTokenLoader: () => { throw new Error('loader bug'); } });
      expectResponse(await access(`Bearer ${expiredToken()}`), 401, { msg: 'Token has expired' });
    });

    it('an async loader that rejects: the default answer', async () => {
      start({ unauthorizedLoader: async () => { throw new Error('loader bug'); } });
      expectResponse(await access(), 401, { msg: 'Missing Authorization Header' });
    });

    const junk: [string, unknown][] = [
      ['undefined', undefined],
      ['null', null],
      ['a string', 'nope'],
      ['an object without status', { body: { a: 1 } }],
      ['a status out of range', { status: 99, body: {} }],
      ['a status of 1000', { status: 1000, body: {} }],
      ['a non-integer status', { status: 401.5, body: {} }],
      ['a status as a string', { status: '401', body: {} }],
      ['a BigInt in the body', { status: 401, body: { n: BigInt(1) } }],
      ['a circular body', { status: 401, body: (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })() }],
      ['a function as the body', { status: 401, body: () => 'x' }],
      ['a symbol as the body', { status: 401, body: Symbol('x') }],
      ['no body', { status: 401 }],
      ['a null body', { status: 401, body: null }],
    ];
    for (const [name, answer] of junk) {
      it(`a loader returning ${name}: the default answer`, async () => {
        start({ invalidTokenLoader: () => answer as never });
        expectResponse(await access('Bearer'), 422, { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
      });
    }

    it('a string body is sent as is', async () => {
      start({ unauthorizedLoader: () => ({ status: 401, body: 'login first' }) });
      const res = await access();
      assert.equal(res.status, 401);
      assert.equal(res.text, 'login first');
    });

    it('a loader for one case leaves the others at their default', async () => {
      start({ expiredTokenLoader: recording(200, { expired: true }) });
      expectResponse(await access(), 401, { msg: 'Missing Authorization Header' });
      assert.deepEqual(calls, []);
    });
  });

  describe('as properties set on the manager', () => {
    beforeEach(() => start({}));

    it('JwtManager.instance.expiredTokenLoader = fn is used', async () => {
      JwtManager.instance.expiredTokenLoader = recording(200, { status: 401, sub_status: 101, msg: 'The token has expired' });
      expectResponse(await access(`Bearer ${expiredToken()}`), 200, { status: 401, sub_status: 101, msg: 'The token has expired' });
      assert.equal(calls.length, 1);
    });

    it('JwtManager.instance.unauthorizedLoader = fn is used', async () => {
      JwtManager.instance.unauthorizedLoader = recording(401, { login: '/login' });
      expectResponse(await access(), 401, { login: '/login' });
      assert.deepEqual(calls, ['Missing Authorization Header']);
    });

    it('JwtManager.instance.invalidTokenLoader = fn is used', async () => {
      JwtManager.instance.invalidTokenLoader = recording(400, { bad: true });
      expectResponse(await access(`Bearer ${token({ sub: undefined })}`), 400, { bad: true });
      assert.deepEqual(calls, ['Missing claim: sub']);
    });

    it('JwtManager.instance.needsFreshTokenLoader = fn is used', async () => {
      JwtManager.instance.needsFreshTokenLoader = recording(403, { fresh: 'please' });
      const res = await request(server).get('/l/fresh').set('Authorization', `Bearer ${token()}`);
      expectResponse(res, 403, { fresh: 'please' });
      assert.equal(calls.length, 1);
    });
  });
});
