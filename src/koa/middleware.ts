/**
 * The two doors besides the decorators, for plain Koa and `@koa/router` apps: a
 * middleware and the imperative check. Both are thin shells over one `Guard`.
 */
import type { Context, Middleware } from 'koa';
import { publishAllowed, publishRefused } from '../core/diagnostics';
import { JwtError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { TokenPayload } from '../core/responses';
import { runInRequestScope, scopeOf } from './context';
import { exposeOnState, Guard, GuardOptions, settleRefreshScope } from './guard';
import { newRefreshScope, presentRefreshToken, refreshScopeOf, runInRefreshScope, tracksRefreshToken } from '../core/refresh-scope';
import { isRefreshTokenUsed, refuseAsReuse } from '../core/sessions';
import { GUARD_MIDDLEWARES } from './marks';

/**
 * A Koa middleware doing what the guard decorators do: the refusal is written by the
 * loaders; `next()` runs in the request context, with the payload on `ctx.state.jwt`.
 *
 * @example router.get('/protected', jwtRequired(), (ctx) => { ctx.body = { hello: getJwtIdentity() }; })
 * @example router.post('/refresh', jwtRequired({ refresh: true }), refresh)
 */
export function jwtRequired(options: GuardOptions = {}): Middleware {
  const middleware = new Guard(options).middleware;
  GUARD_MIDDLEWARES.add(middleware);
  return middleware;
}

/**
 * Gives each request a request context of its own, for the extent of that request, so
 * the getters (`getJwtIdentity()` and the others) work after `await verifyJwtInRequest(ctx)`
 * in any handler or middleware behind it, and guarded methods called from such a handler
 * are checked against that request. Put it first. Routes guarded by `jwtRequired()` or a
 * guard decorator need nothing: their guard enters the context itself.
 *
 * With refresh rotation it also lets `verifyJwtInRequest(ctx, { refresh: true })` pass a refresh
 * token rotated moments ago (inside `reuseIntervalSeconds`) to `rotateRefreshToken()`, which answers
 * its pair; a request that does anything else with it is answered as reuse after the handler.
 * Without it in front, that door refuses such a token as reuse at once. (This part works with
 * `requestContext: false` too.)
 *
 * @example
 * const app = new Koa();
 * app.use(jwtContext());
 * app.use(async (ctx) => {
 *   await verifyJwtInRequest(ctx, { optional: true });
 *   ctx.body = { hello: getJwtIdentity() ?? 'stranger' };
 * });
 */
export function jwtContext(): Middleware {
  return function jwtContext(ctx, next) {
    if (refreshScopeOf(ctx) !== undefined) return next();
    // the refresh scope (whatever requestContext says): a used refresh token verifyJwtInRequest() let through must rotate
    const scope = newRefreshScope(ctx);
    const manager = JwtManager.instance;
    const rest = scopeOf(ctx) !== undefined || !manager.config.requestContext ? next : () => runInRequestScope(ctx, next);
    return runInRefreshScope(scope, rest).then(
      async () => void (await settleRefreshScope(ctx, scope, manager, false)),
      async (error: unknown) => {
        if (!(await settleRefreshScope(ctx, scope, manager, true))) throw error;
      },
    );
  };
}

/** Guards of `verifyJwtInRequest`, by options object, so a call site reuses its guard (remade when the object changes). */
const IMPERATIVE_GUARDS = new WeakMap<GuardOptions, Guard>();
const DEFAULT_GUARD_OPTIONS: GuardOptions = Object.freeze({});

/**
 * The imperative check (fje's `verify_jwt_in_request`): resolves with the verified
 * payload, or `undefined` for an optional check with no token; rejects with the typed
 * `JwtError` (nothing is written to the response: answer it yourself, or let it escape:
 * it carries its status). Sets `ctx.state.jwt`. The getters (`getJwtIdentity()` and the
 * others) then work for the rest of the request (what runs after the `await`, and
 * downstream middleware) when the request has a context of its own: behind
 * `app.use(jwtContext())`, a `jwtRequired()` or a guarded route. Elsewhere they throw a
 * `JwtUsageError` naming that fix: a context entered here could outlive the request
 * (Node keeps it on the connection), so none is.
 *
 * @example
 * app.use(jwtContext()); // once, first: the getters below need it
 * router.get('/feed', async (ctx) => {
 *   const payload = await verifyJwtInRequest(ctx, { optional: true });
 *   ctx.body = payload ? `hello ${getJwtIdentity()}` : 'hello stranger';
 * });
 */
export async function verifyJwtInRequest(ctx: Context, options: GuardOptions = DEFAULT_GUARD_OPTIONS): Promise<TokenPayload | undefined> {
  try {
    return await verifyRequest(ctx, options);
  } catch (error) {
    if (error instanceof JwtError) publishRefused(error, ctx, error.status);
    throw error;
  }
}

/**
 * `verifyJwtInRequest` for doors that answer a refusal themselves through `refusal()`,
 * which publishes it (routing-controllers' checkers): the same check, published once.
 */
export async function verifyRequest(ctx: Context, options: GuardOptions): Promise<TokenPayload | undefined> {
  const guard = imperativeGuard(options);
  const manager = JwtManager.instance;
  const context = await guard.authenticate(ctx, manager);
  if (!guard.skipRevocationCheck && tracksRefreshToken(manager.config, context.payload)) await trackRefreshToken(ctx, context.payload, guard, manager);
  // only the context run() entered for this very request: one left by anything else could be another request's
  const scope = scopeOf(ctx);
  if (scope !== undefined) Object.assign(scope, context);
  exposeOnState(ctx, context);
  publishAllowed(context.payload, ctx);
  return context.payload;
}

/** The guard for `options`: the one made for this object before, unless the object has changed since. */
function imperativeGuard(options: GuardOptions): Guard {
  let guard = IMPERATIVE_GUARDS.get(options);
  if (guard === undefined || !guard.isMadeOf(options)) IMPERATIVE_GUARDS.set(options, (guard = new Guard(options)));
  return guard;
}

/**
 * A refresh token this door let through: recorded in the request's refresh scope (`jwtContext()`
 * or a guard in front), or, with none to answer a used one after the handler, a used one is
 * refused as reuse here (put `app.use(jwtContext())` first to let a retry get its pair).
 */
async function trackRefreshToken(ctx: Context, payload: TokenPayload, guard: Guard, manager: JwtManager): Promise<void> {
  const scope = refreshScopeOf(ctx);
  if (scope !== undefined) return presentRefreshToken(manager.config, scope, payload, guard);
  if (await isRefreshTokenUsed(manager.config, payload)) await refuseAsReuse(manager.config, payload);
}
