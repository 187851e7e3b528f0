/**
 * Current user and authorization (DESIGN 0.2 C): the user lookup, roles and
 * claimsCheck (403 only after a verified token), the global verification loader, and
 * routing-controllers' @Authorized / @CurrentUser answered from the same token.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Authorized, CurrentUser, Get, JsonController, createKoaServer } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, CurrentJwtUser, decodeToken, getCurrentUser, getUnverifiedJwtHeaders, Identity,
  JwtManager, JwtOptions, JwtRequired, jwtAuthorizationChecker, RefreshRequired, jwtCurrentUserChecker, JwtUsageError,
} from '../../src';
import { fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';
import { SECRET, stop } from '../support/server';

interface User {
  name: string;
  admin: boolean;
}
const USERS: Record<string, User> = { alice: { name: 'Alice', admin: true }, bob: { name: 'Bob', admin: false } };
let lookups = 0;
const lookup = (payload: Record<string, unknown>) => {
  lookups += 1;
  return USERS[payload.sub as string] ?? null;
};

/** Served only with a userLookupLoader: @CurrentJwtUser() without one refuses the server build. */
@JsonController('/authz')
class UserController {
  @Get('/me')
  @JwtRequired()
  async me(@CurrentJwtUser() user: User) {
    const viaGetter = getCurrentUser<User>();
    const nested = await new AuthzController().helper();
    return { user, sameAsGetter: viaGetter === user, nested };
  }
}

@JsonController('/authz')
class AuthzController {
  @JwtRequired()
  async helper() {
    return getCurrentUser<User>()?.name;
  }

  @Get('/admin')
  @JwtRequired({ roles: ['admin'] })
  admin(@Identity() who: string) {
    return { admin: who };
  }

  @Get('/rc-authorized')
  @Authorized()
  rcAuthorized() {
    return { authorized: true };
  }

  @Get('/rc-admin')
  @Authorized(['admin'])
  rcAdmin() {
    return { admin: true };
  }

  /** A refresh route that also asks routing-controllers for an admin: @Authorized() needs an access token, so nothing passes. */
  @Get('/rc-admin-refresh')
  @RefreshRequired()
  @Authorized(['admin'])
  rcAdminRefresh() {
    return { admin: true };
  }

  @Get('/rc-user')
  rcUser(@CurrentUser() user?: User) {
    return { user: user ?? null };
  }

  @Get('/rc-user-required')
  rcUserRequired(@CurrentUser({ required: true }) user: User) {
    return { user };
  }
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('authorization: current user, roles, claims checks', () => {
  let server: Server;
  function start(options: Partial<JwtOptions> = {}) {
    JwtManager.configure({ secret: SECRET, ...options });
    const controllers = options.userLookupLoader ? [UserController, AuthzController] : [AuthzController];
    const app = createKoaServer({ controllers, authorizationChecker: jwtAuthorizationChecker, currentUserChecker: jwtCurrentUserChecker });
    app.silent = true;
    server = app.listen(0);
    lookups = 0;
  }
  afterEach(() => stop(server));

  describe('userLookupLoader', () => {
    it('loads the user once per request: @CurrentJwtUser(), getCurrentUser() and a nested guarded call agree', async () => {
      start({ userLookupLoader: lookup });
      const res = await request(server).get('/authz/me').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([res.status, res.body, lookups], [200, { user: USERS.alice, sameAsGetter: true, nested: 'Alice' }, 1]);
    });

    it('answers 401 "Error loading the user <identity>" when the lookup finds nobody', async () => {
      start({ userLookupLoader: lookup });
      const res = await request(server).get('/authz/me').set(bearer(await createAccessToken('mallory')));
      assert.deepEqual([res.status, res.body], [401, { msg: 'Error loading the user mallory' }]);
    });

    it('answers through userLookupErrorLoader(payload, ctx) when set', async () => {
      start({ userLookupLoader: () => undefined, userLookupErrorLoader: (payload, ctx) => ({ status: 404, body: { missing: payload.sub, path: ctx.path } }) });
      const res = await request(server).get('/authz/me').set(bearer(await createAccessToken('mallory')));
      assert.deepEqual([res.status, res.body], [404, { missing: 'mallory', path: '/authz/me' }]);
    });

    it('never runs for a refused token (expired, forged)', async () => {
      start({ userLookupLoader: lookup });
      await request(server).get('/authz/me').set(bearer(await createAccessToken('alice', { expiresIn: -5 })));
      await request(server).get('/authz/me').set(bearer('a.b.c'));
      assert.equal(lookups, 0);
    });

    it('never runs for a token the roles refuse (403 first)', async () => {
      start({ userLookupLoader: lookup });
      const res = await request(server).get('/authz/admin').set(bearer(await createAccessToken('bob', { claims: { roles: ['user'] } })));
      assert.deepEqual([res.status, res.body, lookups], [403, { msg: 'Insufficient permissions' }, 0]);
    });

    it('a lookup that throws is a 500 for the app to log, never "allowed"', async () => {
      start({ userLookupLoader: () => { throw new Error('database down'); } });
      const res = await request(server).get('/authz/me').set(bearer(await createAccessToken('alice')));
      assert.equal(res.status, 500);
      assert.doesNotMatch(res.text, /Alice/);
    });

    it('getCurrentUser() without a userLookupLoader is a usage error naming the fix', async () => {
      await assert.rejects(withToken(await (async () => { JwtManager.configure({ secret: SECRET }); return fakeAccessToken('alice'); })(), () => new AuthzController().helper()),
        (e: Error) => e instanceof JwtUsageError && /userLookupLoader/.test(e.message));
      JwtManager.reset();
    });
  });

  describe('roles and forbiddenLoader', () => {
    it('passes an admin', async () => {
      start();
      const res = await request(server).get('/authz/admin').set(bearer(await createAccessToken('alice', { claims: { roles: ['admin'] } })));
      assert.deepEqual([res.status, res.body], [200, { admin: 'alice' }]);
    });

    it('answers a refused role through forbiddenLoader(payload, ctx)', async () => {
      start({ forbiddenLoader: (payload, ctx) => ({ status: 403, body: { denied: payload.sub, method: ctx.method } }) });
      const res = await request(server).get('/authz/admin').set(bearer(await createAccessToken('bob')));
      assert.deepEqual([res.status, res.body], [403, { denied: 'bob', method: 'GET' }]);
    });

    it('reads roles from rolesClaim', async () => {
      start({ rolesClaim: 'groups' });
      const viaGroups = await request(server).get('/authz/admin').set(bearer(await createAccessToken('alice', { claims: { groups: 'admin' } })));
      const viaRoles = await request(server).get('/authz/admin').set(bearer(await createAccessToken('alice', { claims: { roles: 'admin' } })));
      assert.deepEqual([viaGroups.status, viaRoles.status], [200, 403]);
    });
  });

  describe('tokenVerificationLoader', () => {
    it('false answers 400 User claims verification failed', async () => {
      start({ tokenVerificationLoader: (payload) => payload.sub !== 'bob' });
      const refused = await request(server).get('/authz/admin').set(bearer(await createAccessToken('bob', { claims: { roles: 'admin' } })));
      assert.deepEqual([refused.status, refused.body], [400, { msg: 'User claims verification failed' }]);
      const passed = await request(server).get('/authz/admin').set(bearer(await createAccessToken('alice', { claims: { roles: 'admin' } })));
      assert.equal(passed.status, 200);
    });

    it('answers through tokenVerificationFailedLoader when set, and never sees a forged token', async () => {
      let calls = 0;
      start({
        tokenVerificationLoader: () => ((calls += 1), false),
        tokenVerificationFailedLoader: (payload) => ({ status: 401, body: { stale: payload.sub } }),
      });
      const forged = await request(server).get('/authz/admin').set(bearer('a.b.c'));
      const res = await request(server).get('/authz/admin').set(bearer(await createAccessToken('alice')));
      assert.deepEqual([forged.status, calls, res.status, res.body], [422, 1, 401, { stale: 'alice' }]);
    });
  });

  describe("routing-controllers' @Authorized and @CurrentUser", () => {
    it('@Authorized() refuses no token with our 401 and body, and passes a valid token', async () => {
      start();
      const refused = await request(server).get('/authz/rc-authorized');
      assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing Authorization Header' }]);
      const passed = await request(server).get('/authz/rc-authorized').set(bearer(await createAccessToken('bob')));
      assert.deepEqual([passed.status, passed.body], [200, { authorized: true }]);
    });

    it('@Authorized() refuses a refresh token and an expired one like a guard', async () => {
      start();
      const refresh = await request(server).get('/authz/rc-authorized').set(bearer(await createRefreshToken('bob')));
      assert.deepEqual([refresh.status, refresh.body], [422, { msg: 'Only non-refresh tokens are allowed' }]);
      const expired = await request(server).get('/authz/rc-authorized').set(bearer(await createAccessToken('bob', { expiresIn: -5 })));
      assert.deepEqual([expired.status, expired.body], [401, { msg: 'Token has expired' }]);
    });

    it("@Authorized(['admin']) behind @RefreshRequired() is never satisfied by the guard's refresh token, even one with the admin role (outside attack helper-32)", async () => {
      start();
      const refresh = await request(server).get('/authz/rc-admin-refresh').set(bearer(await createRefreshToken('alice', { claims: { roles: ['admin'] } })));
      assert.deepEqual([refresh.status, refresh.body], [422, { msg: 'Only non-refresh tokens are allowed' }]);
      const access = await request(server).get('/authz/rc-admin-refresh').set(bearer(await createAccessToken('alice', { claims: { roles: ['admin'] } })));
      assert.notEqual(access.status, 200);
    });

    it("@Authorized(['admin']) is 403 for another role and 200 for an admin", async () => {
      start();
      const user = await request(server).get('/authz/rc-admin').set(bearer(await createAccessToken('bob', { claims: { roles: ['user'] } })));
      assert.deepEqual([user.status, user.body], [403, { msg: 'Insufficient permissions' }]);
      const admin = await request(server).get('/authz/rc-admin').set(bearer(await createAccessToken('alice', { claims: { roles: ['admin'] } })));
      assert.deepEqual([admin.status, admin.body], [200, { admin: true }]);
    });

    it('@CurrentUser() is the looked-up user, undefined without a token, refused for a bad one', async () => {
      start({ userLookupLoader: lookup });
      const withUser = await request(server).get('/authz/rc-user').set(bearer(await createAccessToken('alice')));
      assert.deepEqual(withUser.body, { user: USERS.alice });
      const anonymous = await request(server).get('/authz/rc-user');
      assert.deepEqual([anonymous.status, anonymous.body], [200, { user: null }]);
      const forged = await request(server).get('/authz/rc-user').set(bearer('a.b.c'));
      assert.equal(forged.status, 422);
    });

    it('@CurrentUser({ required: true }) refuses a request without a token', async () => {
      start({ userLookupLoader: lookup });
      const res = await request(server).get('/authz/rc-user-required');
      assert.equal(res.status, 401);
    });
  });

  describe('the testing kit on an admin-only controller', () => {
    beforeEach(() => JwtManager.configure({ secret: SECRET, userLookupLoader: lookup }));
    afterEach(() => JwtManager.reset());

    it('fakeAccessToken with roles is enough to pass', async () => {
      const result = await withToken(await fakeAccessToken('alice', { claims: { roles: ['admin'] } }), () => new AuthzController().admin(''));
      assert.deepEqual(result, { admin: 'alice' });
    });

    it('a token without the role rejects with 403 and the body', async () => {
      await assert.rejects(withToken(await fakeAccessToken('bob'), () => new AuthzController().admin('')),
        (e: JwtHttpError<{ msg: string }>) => e.status === 403 && e.body.msg === 'Insufficient permissions');
    });

    it('the user lookup runs for direct calls too', async () => {
      const result = (await withToken(await fakeAccessToken('alice'), () => new UserController().me(undefined as unknown as User))) as { user: User };
      assert.deepEqual(result.user, USERS.alice);
      await assert.rejects(withToken(await fakeAccessToken('mallory'), () => new UserController().me(undefined as unknown as User)),
        (e: JwtHttpError) => e.status === 401);
    });
  });

  describe('claimsInRefreshTokens and extra headers', () => {
    afterEach(() => JwtManager.reset());

    it('keeps userClaimsLoader claims out of refresh tokens by default, in with claimsInRefreshTokens', async () => {
      JwtManager.configure({ secret: SECRET, userClaimsLoader: () => ({ tenant: 'acme' }) });
      assert.equal((await decodeToken(await createRefreshToken('alice'))).tenant, undefined);
      JwtManager.configure({ secret: SECRET, userClaimsLoader: () => ({ tenant: 'acme' }), claimsInRefreshTokens: true });
      assert.equal((await decodeToken(await createRefreshToken('alice'))).tenant, 'acme');
    });

    it('adds headers from the call and from additionalHeadersLoader', async () => {
      JwtManager.configure({ secret: SECRET, additionalHeadersLoader: (identity) => ({ tenant: `t-${identity}` }) });
      const token = await createAccessToken('alice', { headers: { region: 'eu' } });
      assert.deepEqual(getUnverifiedJwtHeaders(token), { alg: 'HS256', typ: 'JWT', tenant: 't-alice', region: 'eu' });
      await decodeToken(token); // still verifies
    });

    it('refuses reserved header names, from the call and from the loader', async () => {
      JwtManager.configure({ secret: SECRET });
      for (const name of ['alg', 'typ', 'kid', 'crit', 'jku', 'x5u', 'jwk', 'x5c']) {
        await assert.rejects(createAccessToken('alice', { headers: { [name]: 'x' } }), (e: Error) => e instanceof JwtUsageError && e.message.includes(`'${name}'`));
      }
      JwtManager.configure({ secret: SECRET, additionalHeadersLoader: () => ({ jku: 'https://evil.example/jwks' }) });
      await assert.rejects(createRefreshToken('alice'), /'jku' is reserved/);
    });
  });
});
