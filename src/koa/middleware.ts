/**
 * The two doors besides the decorators, for plain Koa and `@koa/router` apps: a
 * middleware and the imperative check. Both are thin shells over one `Guard`.
 */
import type { Context, Middleware } from 'koa';
import { publishRefused } from '../core/diagnostics';
import { JwtError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { TokenPayload } from '../core/responses';
import { JwtRequestContext, requestContext } from './context';
import { exposeOnState, Guard, GuardOptions } from './guard';
import { GUARD_MIDDLEWARES } from '../decorators/routes';

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

/** Guards of `verifyJwtInRequest`, by options object, so a call site reuses its guard. */
const IMPERATIVE_GUARDS = new WeakMap<GuardOptions, Guard>();
const DEFAULT_GUARD_OPTIONS: GuardOptions = Object.freeze({});

/**
 * The imperative check (fje's `verify_jwt_in_request`): resolves with the verified
 * payload, or `undefined` for an optional check with no token; rejects with the typed
 * `JwtError` (nothing is written to the response: answer it yourself, or let it escape:
 * it carries its status). Sets `ctx.state.jwt`, and makes `getJwtIdentity()` and the
 * other getters work for the rest of the request (what runs after the `await`, and
 * downstream middleware).
 *
 * @example
 * const payload = await verifyJwtInRequest(ctx, { optional: true });
 * ctx.body = payload ? `hello ${getJwtIdentity()}` : 'hello stranger';
 */
export async function verifyJwtInRequest(ctx: Context, options: GuardOptions = DEFAULT_GUARD_OPTIONS): Promise<TokenPayload | undefined> {
  const manager = JwtManager.instance;
  let guard = IMPERATIVE_GUARDS.get(options);
  if (!guard) IMPERATIVE_GUARDS.set(options, (guard = new Guard(options)));
  // entered synchronously, before the first await, so the caller's continuation sees it
  const holder: JwtRequestContext = { token: undefined, payload: undefined, guard: undefined, ctx };
  if (manager.config.requestContext) requestContext.enterWith(holder);
  let context: JwtRequestContext;
  try {
    context = await guard.authenticate(ctx, manager);
  } catch (error) {
    if (error instanceof JwtError) publishRefused(error, ctx);
    throw error;
  }
  Object.assign(holder, context);
  exposeOnState(ctx, context);
  return context.payload;
}
