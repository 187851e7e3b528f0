/**
 * A guard is what one decorator application means: the token requirement of a
 * route, whether a missing token is allowed, and where to look for it. The
 * route middleware and the method wrapper both enforce the same guard.
 */
import type { Context, Middleware, Next } from 'koa';
import { JwtError, NoAuthorizationError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { TokenLocation } from '../core/options';
import { errorResponse, LoaderResponse } from '../core/responses';
import type { Requirement } from '../core/verify';
import { JwtRequestContext, requestContext } from './context';
import { extractToken } from './extract';

export interface GuardOptions {
  /** Where this route looks for its token, overriding the `tokenLocation` option. */
  locations?: TokenLocation | TokenLocation[];
}

/** Where the route middleware leaves its proof for the method wrapper. */
export const ROUTE_PROOF = Symbol('koa-jwt-extended:route-proof');

/**
 * Left by a guard's route middleware on `ctx.state`, and handed to the decorated
 * method as a hidden last argument: the call comes from the route that guard has
 * already checked, so the method need not check again.
 */
export class RouteProof {
  constructor(readonly guard: Guard) {}
}

export class Guard {
  readonly locations: readonly TokenLocation[] | undefined;
  /** The one proof this guard's route middleware hands its method. */
  readonly proof: RouteProof = new RouteProof(this);

  constructor(readonly requirement: Requirement, readonly optional: boolean, options: GuardOptions = {}) {
    this.locations = options.locations === undefined ? undefined : [options.locations].flat();
  }

  /**
   * Authenticates a Koa request: the context the route runs in, without a promise
   * when no store round trip is needed (the hot path), else a promise of it.
   */
  authenticate(ctx: Context, manager: JwtManager): JwtRequestContext | Promise<JwtRequestContext> {
    const { config, verifier } = manager;
    let found;
    try {
      found = extractToken(ctx, config, this.locations ?? config.tokenLocation, this.requirement.type);
    } catch (error) {
      if (this.optional && error instanceof NoAuthorizationError) return { token: undefined, payload: undefined, guard: this };
      throw error;
    }
    const { token } = found;
    const payload = verifier.authorizeNow(token, this.requirement, { csrfValue: found.csrfValue });
    return payload instanceof Promise ? payload.then((p) => ({ token, payload: p, guard: this })) : { token, payload, guard: this };
  }

  /** Authorizes an already known token (a direct method call); `undefined` = no token at all. */
  async authorizeToken(token: string | undefined, manager: JwtManager): Promise<JwtRequestContext> {
    if (token === undefined || token === '') {
      if (this.optional) return { token: undefined, payload: undefined, guard: this };
      throw new NoAuthorizationError(`Missing ${manager.config.headerName} Header`);
    }
    const payload = await manager.verifier.authorize(token, this.requirement);
    return { token, payload, guard: this };
  }
}

/** The response for a refused request: the loader's answer, or the default. */
export function refusal(error: JwtError, manager: JwtManager): Promise<LoaderResponse> {
  return errorResponse(error, manager, manager.config.errorMessageKey);
}

/**
 * The per-route Koa middleware of a guard. It writes its own JSON refusal
 * (an error thrown from a routing-controllers middleware would become a 500)
 * and runs the rest of the route inside the request context.
 */
export function guardMiddleware(guard: Guard): Middleware {
  // not async: on the hot path (no store round trip) a request costs no extra promise
  return function jwtGuard(ctx, next) {
    const manager = JwtManager.instance;
    // CORS preflights carry no credentials: run anonymously, so the method wrapper does not re-check either
    if (ctx.method === 'OPTIONS') return proceed(ctx, next, { token: undefined, payload: undefined, guard }, manager);
    let context: JwtRequestContext | Promise<JwtRequestContext>;
    try {
      context = guard.authenticate(ctx, manager);
    } catch (error) {
      return respondRefused(ctx, error, manager);
    }
    if (!(context instanceof Promise)) return proceed(ctx, next, context, manager);
    return context.then((settled) => proceed(ctx, next, settled, manager), (error) => respondRefused(ctx, error, manager));
  };
}

/** Runs the rest of the route: the payload on `ctx.state.jwt`, the proof for the method, the request context. */
function proceed(ctx: Context, next: Next, context: JwtRequestContext, manager: JwtManager): Promise<unknown> {
  ctx.state.jwt = context.payload;
  (ctx.state as Record<symbol, unknown>)[ROUTE_PROOF] = (context.guard as Guard).proof;
  return manager.config.requestContext ? requestContext.run(context, next) : next();
}

/** Writes the refusal of a request; anything that is not a refusal propagates. */
async function respondRefused(ctx: Context, error: unknown, manager: JwtManager): Promise<void> {
  if (!(error instanceof JwtError)) throw error;
  const response = await refusal(error, manager);
  ctx.status = response.status;
  ctx.body = response.body;
}
