/**
 * One guard, three doors: every guard option, through the decorators, the
 * `jwtRequired()` middleware (plain Koa + @koa/router) and `verifyJwtInRequest()`,
 * with the request that must pass next to the one that must be refused.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { createKoaServer, Get, JsonController } from 'routing-controllers';
import {
  Claims, createAccessToken, createRefreshToken, GuardOptions, JwtError, JwtManager, jwtRequired, JwtRequired, MemoryTokenStore,
  revokeToken, decodeToken, TokenPayload, verifyJwtInRequest,
} from '../../src';

const SECRET = 'options-table-spec-secret-0123456789abcdef';

type TokenMaker = () => Promise<string | undefined>;
interface Case {
  name: string;
  options: GuardOptions;
  token: TokenMaker;
  /** `undefined` in `where` sends the token in the Authorization header. */
  where?: 'query';
  status: number;
  body: unknown;
}

const access = (claims?: Record<string, unknown>, fresh = false): TokenMaker => () => createAccessToken('alice', { claims, fresh });
const refresh: TokenMaker = () => createRefreshToken('alice');
const none: TokenMaker = async () => undefined;
const revoked: TokenMaker = async () => {
  const token = await createAccessToken('alice');
  await revokeToken((await decodeToken(token)).jti as string);
  return token;
};
const expired: TokenMaker = () => createAccessToken('alice', { expiresIn: -5 });
const ok = (type: string | null) => ({ type });

const CASES: Case[] = [
  { name: 'default: an access token passes', options: {}, token: access(), status: 200, body: ok('access') },
  { name: 'default: a refresh token is refused', options: {}, token: refresh, status: 422, body: { msg: 'Only non-refresh tokens are allowed' } },
  { name: 'default: no token is refused', options: {}, token: none, status: 401, body: { msg: 'Missing Authorization Header' } },
  { name: 'optional: no token runs anonymously', options: { optional: true }, token: none, status: 200, body: ok(null) },
  { name: 'optional: a bad token is still refused', options: { optional: true }, token: async () => 'a.b.c', status: 422, body: { msg: 'Invalid header padding' } },
  { name: 'fresh: a non-fresh token is refused', options: { fresh: true }, token: access(), status: 401, body: { msg: 'Fresh token required' } },
  { name: 'fresh: a fresh token passes', options: { fresh: true }, token: access(undefined, true), status: 200, body: ok('access') },
  { name: 'refresh: a refresh token passes', options: { refresh: true }, token: refresh, status: 200, body: ok('refresh') },
  { name: 'refresh: an access token is refused', options: { refresh: true }, token: access(), status: 422, body: { msg: 'Only refresh tokens are allowed' } },
  { name: 'verifyType false: an access token passes', options: { verifyType: false }, token: access(), status: 200, body: ok('access') },
  { name: 'verifyType false: a refresh token passes', options: { verifyType: false }, token: refresh, status: 200, body: ok('refresh') },
  { name: 'verifyType false + fresh: a refresh token is not fresh', options: { verifyType: false, fresh: true }, token: refresh, status: 401, body: { msg: 'Fresh token required' } },
  { name: 'revocation checked: a revoked token is refused', options: {}, token: revoked, status: 401, body: { msg: 'Token has been revoked' } },
  { name: 'skipRevocationCheck: a revoked token passes', options: { skipRevocationCheck: true }, token: revoked, status: 200, body: ok('access') },
  { name: 'skipRevocationCheck: an expired token is still refused', options: { skipRevocationCheck: true }, token: expired, status: 401, body: { msg: 'Token has expired' } },
  { name: 'locations query: a header token is not looked at', options: { locations: ['query'] }, token: access(), status: 401, body: { msg: "Missing 'jwt' query paramater" } },
  { name: 'locations query: a query token passes', options: { locations: ['query'] }, token: access(), where: 'query', status: 200, body: ok('access') },
  { name: 'roles: a matching role in a list passes', options: { roles: ['admin', 'root'] }, token: access({ roles: ['user', 'admin'] }), status: 200, body: ok('access') },
  { name: 'roles: a matching role as a string passes', options: { roles: ['admin'] }, token: access({ roles: 'admin' }), status: 200, body: ok('access') },
  { name: 'roles: another role is refused 403', options: { roles: ['admin'] }, token: access({ roles: ['user'] }), status: 403, body: { msg: 'Insufficient permissions' } },
  { name: 'roles: no roles claim is refused 403', options: { roles: ['admin'] }, token: access(), status: 403, body: { msg: 'Insufficient permissions' } },
  { name: 'roles: a look-alike role is refused 403', options: { roles: ['admin'] }, token: access({ roles: ['Admin', 'admin '] }), status: 403, body: { msg: 'Insufficient permissions' } },
  { name: 'roles: no token is 401, never 403', options: { roles: ['admin'] }, token: none, status: 401, body: { msg: 'Missing Authorization Header' } },
  { name: 'roles: an expired admin token is 401, never 403', options: { roles: ['user'] }, token: () => createAccessToken('alice', { claims: { roles: 'admin' }, expiresIn: -5 }), status: 401, body: { msg: 'Token has expired' } },
  { name: 'claimsCheck: true passes', options: { claimsCheck: (p) => p.tenant === 'a' }, token: access({ tenant: 'a' }), status: 200, body: ok('access') },
  { name: 'claimsCheck: false is refused 403', options: { claimsCheck: (p) => p.tenant === 'a' }, token: access({ tenant: 'b' }), status: 403, body: { msg: 'Insufficient permissions' } },
  { name: 'claimsCheck: an async truthy non-true answer is refused 403', options: { claimsCheck: async () => 1 as unknown as boolean }, token: access(), status: 403, body: { msg: 'Insufficient permissions' } },
  { name: 'claimsCheck: a refresh token is 422 before any check', options: { claimsCheck: () => true }, token: refresh, status: 422, body: { msg: 'Only non-refresh tokens are allowed' } },
];

function answer(payload: TokenPayload | undefined) {
  return ok((payload?.type as string | undefined) ?? null);
}

/** One routing-controllers controller per case, built with the decorator. */
function decoratedController(index: number, options: GuardOptions): Function {
  @JsonController(`/decorated/${index}`)
  class CaseController {
    @Get('/')
    @JwtRequired(options)
    handle(@Claims() claims?: TokenPayload) {
      return answer(claims);
    }
  }
  return CaseController;
}

function plainKoaApp(): Koa {
  const router = new Router();
  CASES.forEach(({ options }, index) => {
    router.get(`/middleware/${index}`, jwtRequired(options), (ctx) => {
      ctx.body = answer(ctx.state.jwt);
    });
    router.get(`/imperative/${index}`, async (ctx) => {
      try {
        ctx.body = answer(await verifyJwtInRequest(ctx, options));
      } catch (error) {
        if (!(error instanceof JwtError)) throw error;
        ctx.status = error.status;
        ctx.body = error.toJSON();
      }
    });
  });
  const app = new Koa();
  app.silent = true;
  app.use(router.routes());
  return app;
}

const DOORS = ['decorated', 'middleware', 'imperative'] as const;

describe('doors: every guard option through decorators, jwtRequired() and verifyJwtInRequest()', () => {
  const controllers = CASES.map(({ options }, index) => decoratedController(index, options));
  let decorated: Server;
  let plain: Server;
  before(() => {
    JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), checks: 'all' } });
    const app = createKoaServer({ controllers });
    app.silent = true;
    decorated = app.listen(0);
    plain = plainKoaApp().listen(0);
  });
  after(() => {
    decorated.close();
    plain.close();
    JwtManager.reset();
  });

  for (const door of DOORS) {
    describe(door, () => {
      CASES.forEach((testCase, index) => {
        it(`${testCase.name}: ${testCase.status}`, async () => {
          const token = await testCase.token();
          const server = door === 'decorated' ? decorated : plain;
          const path = `/${door}/${index}${door === 'decorated' ? '/' : ''}`;
          let req = request(server).get(testCase.where === 'query' && token ? `${path}?jwt=${token}` : path);
          if (token !== undefined && testCase.where === undefined) req = req.set('Authorization', `Bearer ${token}`);
          const res = await req;
          assert.deepEqual([res.status, res.body], [testCase.status, testCase.body]);
        });
      });
    });
  }

  it('refuses bad guard options when the decorator is applied, listing every problem', () => {
    assert.throws(() => JwtRequired({ fresh: true, refresh: true, roles: [], locations: ['nowhere' as 'query'], bogus: 1 } as GuardOptions), (error: Error) =>
      error.message.includes('fresh and refresh exclude each other') && error.message.includes('roles must be')
      && error.message.includes('locations must be') && error.message.includes("unknown guard option 'bogus'"));
  });

  it('refuses bad guard options in jwtRequired() and verifyJwtInRequest() too', async () => {
    assert.throws(() => jwtRequired({ roles: 'admin' as unknown as string[] }), /roles must be/);
    await assert.rejects(verifyJwtInRequest({} as never, { claimsCheck: 'yes' as never }), /claimsCheck must be a function/);
  });
});
