/**
 * The demo app: the seed's examples on one Koa server. `createDemoApp()` is what
 * the tests drive; `server.ts` listens on it.
 */
import 'reflect-metadata';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { BadRequestError, HttpError, useKoaServer } from 'routing-controllers';
import { DpopError, JwtError, JwtManager, JwtOptions, MemoryTokenStore, TokenStore, TokenStoreError } from 'koa-jwt-extended';
import { AuthController, DemoError, findDemoUser, ProtectedController, TokensController } from './controllers';
import { CookieAuthController, CookiePageController } from './cookies';
import { JwksController } from './jwks';
import { demoSecret } from './secret';
import { DpopAuthController, DpopPageController } from './dpop';

const ENDPOINTS = {
  'POST /login': 'body {"username","password"} -> fresh access token + refresh token (user test/test, admin/admin)',
  'POST /fresh-login': 'body {"username","password"} -> fresh access token',
  'POST /refresh': 'refresh token -> new non-fresh access token + new refresh token (rotation: a spent refresh token is refused, and its family revoked)',
  'POST /logout-everywhere': 'any access token; every refresh token of yours made before now stops working',
  'GET /protected': 'any access token',
  'GET /protected-fresh': 'fresh access token only',
  'GET /whoami': 'any access token; says who you are',
  'GET /me': 'any access token; the user loaded by userLookupLoader (@CurrentJwtUser())',
  'GET /admin': 'an access token with the admin role (login as admin/admin)',
  'GET /claims': 'any access token; shows the custom claims added at login',
  'GET /auth/tokens': 'your stored tokens',
  'PUT /auth/tokens/revoke/:jti': 'revoke one of your tokens',
  'PUT /auth/tokens/unrevoke/:jti': 'unrevoke one of your tokens',
  'GET /auth/all-tokens': 'every stored token (admin only)',
  'GET /.well-known/jwks.json': 'the public keys as a JWK Set (empty for HS* secrets)',
  'GET /cookie-demo': 'a browser page: login, protected POST, refresh and logout with JWT cookies and CSRF',
  'GET /dpop': 'a browser page: a non-extractable WebCrypto key, login with a DPoP proof, protected calls with proofs (RFC 9449)',
};

/** Turns every error into `{ msg }` JSON with the right status: never a stack trace. */
async function jsonErrors(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { msg: 'Not found' };
    }
  } catch (error) {
    const { status, msg } = describeError(error);
    ctx.status = status;
    ctx.body = { msg };
    if (error instanceof DpopError) ctx.set(error.headers); // WWW-Authenticate: DPoP ..., DPoP-Nonce
    if (status >= 500) ctx.app.emit('error', error, ctx);
  }
}

function describeError(error: unknown): { status: number; msg: string } {
  if (error instanceof DemoError) return { status: error.status, msg: error.message };
  // e.g. a refresh token spent by a concurrent request: rotateRefreshToken() rejects with 401 Token has been revoked
  if (error instanceof JwtError) return { status: error.status, msg: error.message };
  if (error instanceof TokenStoreError) return { status: 503, msg: 'Token revocation store unavailable' };
  if (error instanceof BadRequestError) {
    const details = (error as { errors?: { constraints?: Record<string, string> }[] }).errors;
    const reasons = details?.flatMap((e) => Object.values(e.constraints ?? {}));
    return { status: 400, msg: reasons?.length ? reasons.join('; ') : error.message };
  }
  if (error instanceof HttpError) return { status: error.httpCode, msg: error.message };
  const { status, type } = error as { status?: number; type?: string }; // koa-bodyparser: 400 bad JSON, 413, 415
  // JSON.parse's message quotes the body: never echo it back
  if (type === 'entity.parse.failed' || error instanceof SyntaxError) return { status: 400, msg: 'The body is not valid JSON' };
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, msg: (error as Error).message };
  return { status: 500, msg: 'Internal server error' };
}

/** Deeper JSON than any demo body needs; class-transformer recurses through it (a stack overflow would be a 500). */
const MAX_BODY_DEPTH = 32;

/** How deeply `value` nests, counted without recursion (stops once past `limit`). */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > limit) return deepest;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** Refuses a JSON body nested deeper than MAX_BODY_DEPTH with a 400, before any route sees it. */
async function shallowBodies(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  if (nestingDepth((ctx.request as { body?: unknown }).body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
    throw new DemoError(400, 'The JSON body is nested too deeply');
  }
  await next();
}

export interface DemoOptions {
  store?: TokenStore;
  jwt?: Partial<JwtOptions>;
}

/**
 * Configures the manager as the seed's examples do, and builds the app.
 *
 * @example createDemoApp().listen(5000)
 */
export function createDemoApp(options: DemoOptions = {}): Koa {
  JwtManager.configure({
    secret: demoSecret().secret,
    accessTokenExpires: '5m',
    revocation: { store: options.store ?? new MemoryTokenStore(), checks: 'refresh', refreshRotation: true },
    // the seed's custom claims example
    userClaimsLoader: (identity) => ({ hello: identity, foo: ['bar', 'baz'], roles: findDemoUser(identity)?.roles ?? [] }),
    // the current user of every verified request (@CurrentJwtUser() on /me)
    userLookupLoader: (payload) => findDemoUser(payload.sub),
    // the seed's "changing default behaviors" example: an expired token answers 200 with its own JSON
    expiredTokenLoader: () => ({ status: 200, body: { status: 401, sub_status: 101, msg: 'The token has expired' } }),
    ...options.jwt,
  });
  const app = new Koa();
  app.silent = process.env.NODE_ENV === 'test';
  app.use(jsonErrors);
  app.use(async (ctx, next) => {
    if (ctx.path !== '/' || ctx.method !== 'GET') return next();
    ctx.body = { name: 'koa-jwt-extended demo', endpoints: ENDPOINTS };
  });
  // parsed here (routing-controllers' own parser then leaves the body alone), so its depth is checked first
  app.use(bodyParser());
  app.use(shallowBodies);
  useKoaServer(app, {
    controllers: [AuthController, ProtectedController, TokensController, JwksController, CookieAuthController, CookiePageController, DpopAuthController, DpopPageController],
    defaultErrorHandler: false,
    validation: { forbidUnknownValues: true },
  });
  return app;
}
