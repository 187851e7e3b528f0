/**
 * Flask-JWT-Extended 4 answers a JWT error raised anywhere in a view through its loaders
 * (jwt_manager.py's error handlers), and refuses `current_user` without a
 * `user_lookup_loader` (tests/test_user_lookup.py). Ported: each `it` names the fje test or
 * behaviour it mirrors; every route is served by a real HTTP server.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { createKoaServer, Get, JsonController, QueryParam, UseAfter, UseBefore } from 'routing-controllers';
import {
  createAccessToken, CurrentJwtUser, decodeToken, getCurrentUser, JwtManager, JwtOptions, JwtOptional, JwtRequired, jwtRequired,
  JwtUsageError, MemoryTokenStore, revokeToken,
} from '../../src';
import { fakeAccessToken, withToken } from '../../src/testing';
import { startServer } from '../koa/support';

/** A route that decodes a token it was given (a password-reset link, say): no guard involved. */
@JsonController('/fje-err')
class EscapingController {
  @Get('/decode')
  async decode(@QueryParam('token') token: string) {
    return { sub: (await decodeToken(token)).sub };
  }

  @Get('/revoke')
  async revoke(@QueryParam('token') token: string) {
    await revokeToken(token);
    return { revoked: true };
  }

  @Get('/guarded-decode') @JwtRequired()
  async guardedDecode(@QueryParam('token') token: string) {
    return { sub: (await decodeToken(token)).sub };
  }
}

/** A route middleware that decodes the `token` query parameter (a JwtError when it is expired). */
async function decodingMiddleware(ctx: { query: Record<string, unknown> }, next: () => Promise<unknown>) {
  await decodeToken(String(ctx.query.token));
  return next();
}

/** JwtErrors from the guarded route's own middlewares, before and after its action. */
@JsonController('/fje-mw')
class MiddlewareEscapingController {
  @Get('/before') @JwtRequired() @UseBefore(decodingMiddleware)
  before() { return { ok: true }; }

  @Get('/after') @JwtRequired() @UseAfter(decodingMiddleware)
  after() { return { ok: true }; }

  @Get('/plain') @JwtRequired()
  async plain(@QueryParam('token') token: string) { return { sub: (await decodeToken(token)).sub }; }
}

/** fje's test_user_lookup.py app: the user by parameter (get_user1) and by getter (get_user2). */
@JsonController('/fje-user')
class UserController {
  @Get('/get_user1') @JwtRequired()
  one(@CurrentJwtUser() user: { username: string }) { return { foo: user.username }; }
}

@JsonController('/fje-user')
class UserGetterController {
  @Get('/get_user2') @JwtRequired()
  two() { return { foo: getCurrentUser<{ username: string }>()!.username }; }

  @Get('/optional') @JwtOptional()
  optional(@CurrentJwtUser() user?: { username: string }) { return { user: user ?? null }; }
}

const expiredLoader = (payload: { sub?: unknown }) => ({ status: 419, body: { expired: payload.sub } });

describe('parity with fje 4: loaders answer every JWT error; current user needs its loader', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });
  const start = (controllers: Function[], options: Partial<JwtOptions> = {}) => (server = startServer(controllers, options));

  describe('a JwtError escaping a routing-controllers action', () => {
    it('decodeToken() of an expired token answers through expiredTokenLoader', async () => {
      start([EscapingController], { expiredTokenLoader: expiredLoader });
      const res = await request(server!).get('/fje-err/decode').query({ token: await createAccessToken('alice', { expiresIn: -5 }) });
      assert.deepEqual([res.status, res.body], [419, { expired: 'alice' }]);
    });

    it('the same action with a valid token answers 200 (the allowed request)', async () => {
      start([EscapingController], { expiredTokenLoader: expiredLoader });
      const res = await request(server!).get('/fje-err/decode').query({ token: await createAccessToken('alice') });
      assert.deepEqual([res.status, res.body], [200, { sub: 'alice' }]);
    });

    it('without a loader it answers the default, never a 500: 401 Token has expired', async () => {
      start([EscapingController]);
      const res = await request(server!).get('/fje-err/decode').query({ token: await createAccessToken('alice', { expiresIn: -5 }) });
      assert.deepEqual([res.status, res.body], [401, { msg: 'Token has expired' }]);
    });

    it('a forged token answers through invalidTokenLoader(reason, ctx)', async () => {
      start([EscapingController], { invalidTokenLoader: (reason, ctx) => ({ status: 400, body: { bad: reason, path: ctx.path } }) });
      const token = await createAccessToken('alice');
      const res = await request(server!).get('/fje-err/decode').query({ token: `${token.slice(0, -4)}AAAA` });
      assert.deepEqual([res.status, res.body], [400, { bad: 'Signature verification failed', path: '/fje-err/decode' }]);
    });

    it('revokeToken() of a forged token answers through invalidTokenLoader', async () => {
      start([EscapingController], { revocation: { store: new MemoryTokenStore() }, invalidTokenLoader: (reason) => ({ status: 400, body: { bad: reason } }) });
      const res = await request(server!).get('/fje-err/revoke').query({ token: 'not.a.jwt' });
      assert.equal(res.status, 400);
      assert.equal(typeof res.body.bad, 'string');
    });

    it('inside a guarded action too: the guard passed, the handler\'s own decode answers through the loader', async () => {
      start([EscapingController], { expiredTokenLoader: expiredLoader });
      const res = await request(server!).get('/fje-err/guarded-decode')
        .set('Authorization', `Bearer ${await createAccessToken('bob')}`)
        .query({ token: await createAccessToken('alice', { expiresIn: -5 }) });
      assert.deepEqual([res.status, res.body], [419, { expired: 'alice' }]);
    });

    for (const requestContext of [true, false]) {
      describe(`from a guarded route's own middleware (requestContext: ${requestContext})`, () => {
        const call = async (path: string, expiresIn: number) => request(server!).get(`/fje-mw/${path}`)
          .set('Authorization', `Bearer ${await createAccessToken('bob')}`)
          .query({ token: await createAccessToken('alice', { expiresIn }) });

        it('a @UseBefore middleware after the guard: through expiredTokenLoader; a valid token passes', async () => {
          start([MiddlewareEscapingController], { expiredTokenLoader: expiredLoader, requestContext });
          const refused = await call('before', -5);
          assert.deepEqual([refused.status, refused.body], [419, { expired: 'alice' }]);
          const allowed = await call('before', 60);
          assert.deepEqual([allowed.status, allowed.body], [200, { ok: true }]);
        });

        it('a @UseAfter middleware: through expiredTokenLoader', async () => {
          start([MiddlewareEscapingController], { expiredTokenLoader: expiredLoader, requestContext });
          const refused = await call('after', -5);
          assert.deepEqual([refused.status, refused.body], [419, { expired: 'alice' }]);
        });

        it('the action of a guarded route with no middleware of its own: through expiredTokenLoader; a valid token passes', async () => {
          start([MiddlewareEscapingController], { expiredTokenLoader: expiredLoader, requestContext });
          const refused = await call('plain', -5);
          assert.deepEqual([refused.status, refused.body], [419, { expired: 'alice' }]);
          const allowed = await call('plain', 60);
          assert.deepEqual([allowed.status, allowed.body], [200, { sub: 'alice' }]);
        });
      });
    }

    it('a loader that throws falls back to the default answer', async () => {
      start([EscapingController], { expiredTokenLoader: () => { throw new Error('broken loader'); } });
      const res = await request(server!).get('/fje-err/decode').query({ token: await createAccessToken('alice', { expiresIn: -5 }) });
      assert.deepEqual([res.status, res.body], [401, { msg: 'Token has expired' }]);
    });
  });

  describe('a JwtError escaping a plain Koa handler behind jwtRequired()', () => {
    function startRouter(options: Partial<JwtOptions>) {
      JwtManager.configure({ secret: 'a-test-secret-that-is-long-enough-for-hs256!', ...options });
      const app = new Koa();
      app.silent = true;
      const router = new Router();
      router.get('/decode', jwtRequired(), async (ctx) => { ctx.body = { sub: (await decodeToken(String(ctx.query.token))).sub }; });
      router.get('/boom', jwtRequired(), () => { throw new Error('not a JwtError'); });
      app.use(router.routes());
      server = app.listen(0);
    }

    it('answers through expiredTokenLoader; a valid token passes', async () => {
      startRouter({ expiredTokenLoader: expiredLoader });
      const auth = `Bearer ${await createAccessToken('bob')}`;
      const refused = await request(server!).get('/decode').set('Authorization', auth).query({ token: await createAccessToken('alice', { expiresIn: -5 }) });
      assert.deepEqual([refused.status, refused.body], [419, { expired: 'alice' }]);
      const allowed = await request(server!).get('/decode').set('Authorization', auth).query({ token: await createAccessToken('alice') });
      assert.deepEqual([allowed.status, allowed.body], [200, { sub: 'alice' }]);
    });

    it('another error still propagates to Koa (a 500 for the app to log)', async () => {
      startRouter({});
      const res = await request(server!).get('/boom').set('Authorization', `Bearer ${await createAccessToken('bob')}`);
      assert.equal(res.status, 500);
    });
  });

  describe('@CurrentJwtUser() without a userLookupLoader', () => {
    // fje: test_no_user_lookup_loader_specified (fje raises at request time; here the build refuses)
    it('test_no_user_lookup_loader_specified: the server build throws a JwtUsageError naming the method and the fix', () => {
      JwtManager.configure({ secret: 'a-test-secret-that-is-long-enough-for-hs256!' }); // after the class was defined, before the build
      assert.throws(() => createKoaServer({ controllers: [UserController] }),
        (e: unknown) => e instanceof JwtUsageError && /UserController\.one/.test(e.message) && /userLookupLoader/.test(e.message));
    });

    it('under @JwtOptional() too (fje: current_user needs the loader whatever the route)', () => {
      JwtManager.configure({ secret: 'a-test-secret-that-is-long-enough-for-hs256!' });
      assert.throws(() => createKoaServer({ controllers: [UserGetterController] }), (e: unknown) => e instanceof JwtUsageError && /optional/.test(e.message));
    });

    it('configured with the loader before the build, the same controller builds and serves (test_load_valid_user, get_user1)', async () => {
      start([UserController], { userLookupLoader: (payload) => ({ username: payload.sub }) });
      const res = await request(server!).get('/fje-user/get_user1').set('Authorization', `Bearer ${await createAccessToken('username')}`);
      assert.deepEqual([res.status, res.body], [200, { foo: 'username' }]);
    });

    it('a server built before configure(): the parameter refuses at request time (500), never a silent undefined', async () => {
      JwtManager.reset();
      const app = createKoaServer({ controllers: [UserController] });
      app.silent = true;
      server = app.listen(0);
      JwtManager.configure({ secret: 'a-test-secret-that-is-long-enough-for-hs256!' });
      const res = await request(server!).get('/fje-user/get_user1').set('Authorization', `Bearer ${await createAccessToken('username')}`);
      assert.equal(res.status, 500);
      assert.doesNotMatch(res.text, /username/);
    });

    it('a direct call (testing kit) is a JwtUsageError too', async () => {
      JwtManager.configure({ secret: 'a-test-secret-that-is-long-enough-for-hs256!' });
      await assert.rejects(withToken(await fakeAccessToken('username'), () => new UserController().one(undefined as never)), JwtUsageError);
    });
  });

  describe('fje test_user_lookup.py', () => {
    const both = [UserController, UserGetterController];
    for (const url of ['/fje-user/get_user1', '/fje-user/get_user2']) {
      it(`test_load_invalid_user (${url}): 401 Error loading the user username`, async () => {
        start(both, { userLookupLoader: () => null });
        const res = await request(server!).get(url).set('Authorization', `Bearer ${await createAccessToken('username')}`);
        assert.deepEqual([res.status, res.body], [401, { msg: 'Error loading the user username' }]);
      });

      it(`test_custom_user_lookup_errors (${url}): userLookupErrorLoader answers 201`, async () => {
        start(both, { userLookupLoader: () => null, userLookupErrorLoader: (payload) => ({ status: 201, body: { foo: 'bar', sub: payload.sub } }) });
        const res = await request(server!).get(url).set('Authorization', `Bearer ${await createAccessToken('username')}`);
        assert.deepEqual([res.status, res.body], [201, { foo: 'bar', sub: 'username' }]);
      });

      it(`test_load_valid_user (${url})`, async () => {
        start(both, { userLookupLoader: (payload) => ({ username: payload.sub }) });
        const res = await request(server!).get(url).set('Authorization', `Bearer ${await createAccessToken('username')}`);
        assert.deepEqual([res.status, res.body], [200, { foo: 'username' }]);
      });
    }
  });
});
