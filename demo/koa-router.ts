/**
 * `npm run demo:router`: the seed's examples in a plain Koa + @koa/router app, with
 * no routing-controllers: `jwtRequired()` guards routes, `verifyJwtInRequest()` is the
 * imperative check, and the getters work in the handlers. Port 5001 (PORT overrides),
 * host 127.0.0.1 (HOST overrides).
 */
import Koa from 'koa';
import Router from '@koa/router';
import bodyParser from 'koa-bodyparser';
import {
  createAccessToken, createRefreshToken, getJwtClaims, getJwtIdentity, JwtError, JwtManager, jwtContext, jwtRequired, MemoryTokenStore,
  verifyJwtInRequest,
} from 'koa-jwt-extended';
import { demoSecret, describeDemoSecret } from './secret';

const USERS: Record<string, string> = { test: 'test', admin: 'admin' };

/** The username of a good login body, or `undefined`. */
function checkLogin(body: unknown): string | undefined {
  const { username, password } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string') return undefined;
  return Object.prototype.hasOwnProperty.call(USERS, username) && USERS[username] === password ? username : undefined;
}

function routes(): Router {
  const router = new Router();
  router.post('/login', async (ctx) => {
    const username = checkLogin(ctx.request.body);
    if (!username) {
      ctx.status = 401;
      ctx.body = { msg: 'Bad username or password' };
      return;
    }
    ctx.body = { access_token: await createAccessToken(username, { fresh: true }), refresh_token: await createRefreshToken(username) };
  });
  router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => {
    ctx.body = { access_token: await createAccessToken(getJwtIdentity()!, { fresh: false }) };
  });
  router.get('/protected', jwtRequired(), (ctx) => {
    ctx.body = { hello: 'world' };
  });
  router.get('/protected-fresh', jwtRequired({ fresh: true }), (ctx) => {
    ctx.body = { hello: `from ${getJwtIdentity()}` };
  });
  router.get('/claims', jwtRequired(), (ctx) => {
    const { hello, foo } = getJwtClaims();
    ctx.body = { hello, foo };
  });
  // the imperative check: anonymous visitors get a greeting too
  router.get('/partially-protected', async (ctx) => {
    const payload = await verifyJwtInRequest(ctx, { optional: true });
    ctx.body = { hello: payload ? getJwtIdentity() : 'anonymous user' };
  });
  return router;
}

/** JwtErrors carry their status; anything else is a 500 with no stack in the body. */
async function jsonErrors(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    await next();
  } catch (error) {
    if (error instanceof JwtError) {
      ctx.status = error.status;
      ctx.body = error.toJSON();
      return;
    }
    const status = (error as { status?: number }).status;
    ctx.status = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
    ctx.body = { msg: ctx.status === 400 ? 'The body is not valid JSON' : 'Internal server error' };
    if (ctx.status >= 500) ctx.app.emit('error', error, ctx);
  }
}

/**
 * Configures the manager as the seed's examples do, and builds the plain Koa app.
 *
 * @example createRouterDemoApp().listen(5001)
 */
export function createRouterDemoApp(secret = demoSecret().secret): Koa {
  JwtManager.configure({
    secret,
    accessTokenExpires: '5m',
    revocation: { store: new MemoryTokenStore(), checks: 'refresh' },
    userClaimsLoader: (identity) => ({ hello: identity, foo: ['bar', 'baz'] }),
  });
  const app = new Koa();
  app.silent = process.env.NODE_ENV === 'test';
  const router = routes();
  // jwtContext(): a request context per request, so getJwtIdentity() works after verifyJwtInRequest()
  app.use(jwtContext()).use(jsonErrors).use(bodyParser()).use(router.routes()).use(router.allowedMethods());
  return app;
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 5001);
  const host = process.env.HOST ?? '127.0.0.1';
  createRouterDemoApp().listen(port, host, () => {
    console.log(`koa-jwt-extended plain Koa demo on http://${host}:${port}`);
    console.log(describeDemoSecret());
  });
}
