/**
 * The request API beyond the guard itself (DESIGN 0.2 B): getters, JwtErrors escaping
 * an action, loaders with `ctx`, RFC 6750 challenges, and the refused channel.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { Ctx, Get, JsonController, Param } from 'routing-controllers';
import type { Context } from 'koa';
import {
  createAccessToken, decodeToken, getJti, getJwtClaims, getJwtHeader, getJwtIdentity, getJwtRequestLocation, getUnverifiedJwtHeaders,
  InvalidTokenError, JwtError, JwtManager, JwtOptional, jwtContext, jwtRequired, JwtRequired, MemoryTokenStore, REFUSED_CHANNEL, revokeToken,
  verifyJwtInRequest,
} from '../../src';
import { serve, stop, SECRET } from '../support/server';

@JsonController('/api')
class ApiController {
  @Get('/getters')
  @JwtRequired({ locations: ['headers', 'query'] })
  getters() {
    return { identity: getJwtIdentity(), type: getJwtClaims().type, alg: getJwtHeader().alg, location: getJwtRequestLocation() };
  }

  @Get('/optional')
  @JwtOptional()
  optional() {
    return { location: getJwtRequestLocation() ?? null, header: getJwtHeader() };
  }

  @Get('/decode/:token')
  async decode(@Param('token') token: string) {
    return decodeToken(token);
  }

  @Get('/revoke/:jti')
  async revoke(@Param('jti') jti: string) {
    await revokeToken(jti);
    return { revoked: jti };
  }

  @Get('/loader-ctx')
  @JwtRequired()
  loaderCtx(@Ctx() ctx: Context) {
    return { ok: ctx.status };
  }
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('doors: the request API', () => {
  let server: Server;
  afterEach(() => stop(server));

  describe('getters', () => {
    beforeEach(() => {
      server = serve([ApiController]);
    });

    it('getJwtHeader() and getJwtRequestLocation() describe the verified token', async () => {
      const token = await createAccessToken('alice');
      const fromHeader = await request(server).get('/api/getters').set(bearer(token));
      assert.deepEqual([fromHeader.status, fromHeader.body], [200, { identity: 'alice', type: 'access', alg: 'HS256', location: 'headers' }]);
      const fromQuery = await request(server).get(`/api/getters?jwt=${token}`);
      assert.deepEqual(fromQuery.body, { identity: 'alice', type: 'access', alg: 'HS256', location: 'query' });
    });

    it('an optional route with no token has no location and an empty header', async () => {
      const res = await request(server).get('/api/optional');
      assert.deepEqual([res.status, res.body], [200, { location: null, header: {} }]);
    });

    it('getUnverifiedJwtHeaders() decodes without verifying; a malformed token throws InvalidTokenError', async () => {
      const forged = `${Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'k1' })).toString('base64url')}.e30.c2ln`;
      assert.deepEqual(getUnverifiedJwtHeaders(forged), { alg: 'HS256', kid: 'k1' });
      assert.throws(() => getUnverifiedJwtHeaders('garbage'), InvalidTokenError);
    });

    it('getJti() verifies: the jti of a good token, a rejection for a forged one', async () => {
      const token = await createAccessToken('alice');
      assert.equal(await getJti(token), (await decodeToken(token)).jti);
      await assert.rejects(getJti(`${token.slice(0, -2)}xx`), (e: JwtError) => e.status === 422);
    });

    it('the getters outside a request throw a usage error naming the ways in', () => {
      assert.throws(() => getJwtHeader(), /outside a protected request.*verifyJwtInRequest/s);
      assert.throws(() => getJwtRequestLocation(), /outside a protected request/);
    });
  });

  describe('JwtErrors escaping an action answer with their own status and body', () => {
    beforeEach(() => {
      server = serve([ApiController], { revocation: { store: new MemoryTokenStore(), checks: 'all' } });
    });

    it('decodeToken() of an expired token inside an action: 401 Token has expired, no stack (was 500)', async () => {
      const res = await request(server).get(`/api/decode/${await createAccessToken('alice', { expiresIn: -5 })}`);
      assert.deepEqual([res.status, res.body], [401, { msg: 'Token has expired' }]);
      assert.doesNotMatch(res.text, /at |stack/);
    });

    it('decodeToken() of a tampered token inside an action: 422', async () => {
      const token = await createAccessToken('alice');
      const res = await request(server).get(`/api/decode/${token.slice(0, -3)}abc`);
      assert.deepEqual([res.status, res.body], [422, { msg: 'Signature verification failed' }]);
    });

    it('revokeToken() of an unknown jti inside an action: 404 Token not found (was 500)', async () => {
      const res = await request(server).get('/api/revoke/no-such-jti');
      assert.deepEqual([res.status, res.body], [404, { msg: 'Token not found' }]);
    });

    it('in plain Koa, Koa sees status and expose: the message is sent with the status', async () => {
      JwtManager.configure({ secret: SECRET });
      const app = new Koa();
      app.silent = true;
      app.use(async (ctx) => {
        ctx.body = await decodeToken(String(ctx.query.t));
      });
      server = app.listen(0);
      const res = await request(server).get(`/?t=${await createAccessToken('alice', { expiresIn: -5 })}`);
      assert.deepEqual([res.status, res.text], [401, 'Token has expired']);
    });

    it('toJSON() follows errorMessageKey', async () => {
      server = serve([ApiController], { errorMessageKey: 'error' });
      const res = await request(server).get(`/api/decode/${await createAccessToken('alice', { expiresIn: -5 })}`);
      assert.deepEqual(res.body, { error: 'Token has expired' });
    });
  });

  describe('loaders get the Koa context', () => {
    it('an expiredTokenLoader can set headers and clear cookies through ctx', async () => {
      server = serve([ApiController], {
        expiredTokenLoader: (payload, ctx) => {
          ctx.set('X-Expired-Sub', String(payload.sub));
          ctx.cookies.set('access_token_cookie', null);
          return { status: 401, body: { msg: 'expired, log in again' } };
        },
      });
      const res = await request(server).get('/api/loader-ctx').set(bearer(await createAccessToken('alice', { expiresIn: -5 })));
      assert.deepEqual([res.status, res.body, res.headers['x-expired-sub']], [401, { msg: 'expired, log in again' }, 'alice']);
      assert.match(String(res.headers['set-cookie']), /access_token_cookie=;/);
    });

    it('an unauthorizedLoader gets the reason and ctx', async () => {
      let seen: unknown;
      server = serve([ApiController], { unauthorizedLoader: (reason, ctx) => ((seen = [reason, ctx.path]), { status: 401, body: { reason } }) });
      await request(server).get('/api/loader-ctx');
      assert.deepEqual(seen, ['Missing Authorization Header', '/api/loader-ctx']);
    });
  });

  describe('WWW-Authenticate (RFC 6750 §3)', () => {
    it('a missing token: Bearer', async () => {
      server = serve([ApiController]);
      const res = await request(server).get('/api/loader-ctx');
      assert.deepEqual([res.status, res.headers['www-authenticate']], [401, 'Bearer']);
    });

    it('an expired header token: error="invalid_token" with a description', async () => {
      server = serve([ApiController]);
      const res = await request(server).get('/api/loader-ctx').set(bearer(await createAccessToken('alice', { expiresIn: -5 })));
      assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="Token has expired"');
    });

    it('a revoked header token: error="invalid_token" with a description', async () => {
      server = serve([ApiController], { revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      const token = await createAccessToken('alice');
      await revokeToken((await decodeToken(token)).jti as string);
      const res = await request(server).get('/api/loader-ctx').set(bearer(token));
      assert.deepEqual([res.status, res.headers['www-authenticate']], [401, 'Bearer error="invalid_token", error_description="Token has been revoked"']);
    });

    it('no challenge on a 422, on a cookie token, or when a loader answers other than 401', async () => {
      server = serve([ApiController], { tokenLocation: ['cookies', 'headers'], expiredTokenLoader: () => ({ status: 200, body: { expired: true } }) });
      const bad = await request(server).get('/api/loader-ctx').set(bearer('a.b.c'));
      assert.deepEqual([bad.status, bad.headers['www-authenticate']], [422, undefined]);
      const cookieExpired = await request(server).get('/api/loader-ctx').set('Cookie', `access_token_cookie=${await createAccessToken('alice', { expiresIn: -5 })}`);
      assert.deepEqual([cookieExpired.status, cookieExpired.headers['www-authenticate']], [200, undefined]);
    });

    it('no challenge when the token travels in another header than Authorization', async () => {
      server = serve([ApiController], { headerName: 'X-Token' });
      const res = await request(server).get('/api/loader-ctx');
      assert.deepEqual([res.status, res.headers['www-authenticate']], [401, undefined]);
    });
  });

  describe('the koa-jwt-extended:refused channel', () => {
    it('publishes { error, ctx } for every refusal, and nothing for a pass', async () => {
      const seen: { code: string; path: string }[] = [];
      const listener = (message: unknown) => {
        const { error, ctx } = message as { error: JwtError; ctx: Context };
        seen.push({ code: error.code, path: ctx.path });
      };
      diagnostics.subscribe(REFUSED_CHANNEL, listener);
      try {
        server = serve([ApiController]);
        await request(server).get('/api/loader-ctx');
        await request(server).get('/api/loader-ctx').set(bearer(await createAccessToken('alice')));
        await request(server).get('/api/loader-ctx').set(bearer('a.b.c'));
      } finally {
        diagnostics.unsubscribe(REFUSED_CHANNEL, listener);
      }
      assert.deepEqual(seen, [{ code: 'ERR_JWT_MISSING', path: '/api/loader-ctx' }, { code: 'ERR_JWT_MALFORMED', path: '/api/loader-ctx' }]);
    });
  });

  describe('verifyJwtInRequest() in plain Koa', () => {
    function gettersApp(scoped: boolean): Server {
      JwtManager.configure({ secret: SECRET });
      const router = new Router();
      router.get('/me', async (ctx) => {
        await verifyJwtInRequest(ctx);
        try {
          ctx.body = { identity: getJwtIdentity() };
        } catch (error) {
          ctx.body = { threw: (error as Error).message };
        }
      });
      const app = new Koa();
      app.silent = true;
      if (scoped) app.use(jwtContext());
      app.use(router.routes());
      return app.listen(0);
    }

    it('without a request context (no jwtContext() in front) the getters throw a JwtUsageError naming the fix', async () => {
      server = gettersApp(false);
      const res = await request(server).get('/me').set(bearer(await createAccessToken('alice')));
      assert.equal(res.status, 200);
      assert.match(res.body.threw, /^getJwtIdentity\(\) was called outside a protected request: .*after verifyJwtInRequest\(ctx\) in a request that app\.use\(jwtContext\(\)\) covers \(or read ctx\.state\.jwt\)$/);
    });

    it('behind jwtContext() the getters give the verified identity', async () => {
      server = gettersApp(true);
      const res = await request(server).get('/me').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([res.status, res.body], [200, { identity: 'alice' }]);
    });

    it('makes the getters work for the rest of the request, downstream middleware included (behind jwtContext())', async () => {
      JwtManager.configure({ secret: SECRET });
      const router = new Router();
      router.get('/me', async (ctx, next) => {
        await verifyJwtInRequest(ctx);
        ctx.state.inHandler = getJwtIdentity();
        await next();
      }, (ctx) => {
        ctx.body = { inHandler: ctx.state.inHandler, downstream: getJwtIdentity(), state: ctx.state.jwt.sub };
      });
      const app = new Koa();
      app.silent = true;
      app.use(jwtContext());
      app.use(router.routes());
      server = app.listen(0);
      const res = await request(server).get('/me').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([res.status, res.body], [200, { inHandler: 'alice', downstream: 'alice', state: 'alice' }]);
    });

    it('rejects with the typed JwtError, which plain Koa answers with its status', async () => {
      JwtManager.configure({ secret: SECRET });
      const app = new Koa();
      app.silent = true;
      app.use(async (ctx) => {
        await verifyJwtInRequest(ctx, { fresh: true });
        ctx.body = 'never';
      });
      server = app.listen(0);
      const res = await request(server).get('/').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([res.status, res.text], [401, 'Fresh token required']);
    });

    it('jwtRequired() writes the refusal through the loaders and never calls next()', async () => {
      JwtManager.configure({ secret: SECRET, revokedTokenLoader: () => ({ status: 418, body: { teapot: true } }), revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      let reached = false;
      const app = new Koa();
      app.silent = true;
      app.use(jwtRequired());
      app.use((ctx) => {
        reached = true;
        ctx.body = 'reached';
      });
      server = app.listen(0);
      const token = await createAccessToken('alice');
      await revokeToken((await decodeToken(token)).jti as string);
      const res = await request(server).get('/').set(bearer(token));
      assert.deepEqual([res.status, res.body, reached], [418, { teapot: true }, false]);
    });
  });
});
