/**
 * One guard, three doors. A `Guard` is what one set of guard options means: the token
 * requirement of a route, whether a missing token is allowed, where to look for it, and
 * the checks after verification (roles, claimsCheck, the global loaders, the user
 * lookup). The decorators, the `jwtRequired()` middleware and `verifyJwtInRequest()` are
 * thin shells over it; no rule lives in a door.
 */
import type { Context, Middleware, Next } from 'koa';
import { claimAt, grantsAllScopes, type TokenType } from '../core/claims';
import { insufficientScopeChallenge, invalidTokenChallenge } from '../core/challenge';
import { publishAllowed, publishRefused } from '../core/diagnostics';
import { ForbiddenError, InsufficientScopeError, JwtError, JwtUsageError, NoAuthorizationError, TokenVerificationError, UserLookupError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { TokenLocation } from '../core/options';
import { errorResponse, LoaderResponse, TokenPayload } from '../core/responses';
import type { AuthorizeOptions, Requirement } from '../core/verify';
import { currentContext, GuardedRoute, JwtRequestContext, runInContext } from './context';
import { newRefreshScope, owesReuse, presentRefreshToken, RefreshScope, reuseRefusal, runInRefreshScope, tracksRefreshToken } from '../core/refresh-scope';
import { confirmRequestSender, setDpopRefusalHeaders } from './dpop';
import { extractToken, FoundToken, markRefusedAt, missingTokenError, refusedLocation } from './extract';
import { GuardOptions, keyCount, OPTION_LIST, optionProblems, OptionsSnapshot, sameValue, snapshot } from './guard-options';

export type { GuardOptions } from './guard-options';
import type { ProofRequest } from '../core/dpop/verifier';

/** Where the route middleware leaves its proof for the method wrapper. */
export const ROUTE_PROOF = Symbol('koa-jwt-extended:route-proof');

/**
 * Left by a guard's route middleware on `ctx.state`, and handed to the guarded method
 * as a hidden last argument: the call comes from a route that guard has already
 * checked, so the method need not check again.
 */
export class RouteProof {
  constructor(readonly guard: Guard) {}
}

export class Guard {
  readonly requirement: Requirement;
  /** Which cookie / JSON key holds the token: the refresh one for refresh routes. */
  readonly extractAs: TokenType;
  readonly optional: boolean;
  readonly locations: readonly TokenLocation[] | undefined;
  readonly skipRevocationCheck: boolean;
  readonly roles: readonly string[] | undefined;
  readonly scopes: readonly string[] | undefined;
  readonly claimsCheck: GuardOptions['claimsCheck'];
  /** The one proof this guard's route middleware hands its method. */
  readonly proof: RouteProof = new RouteProof(this);
  private routeMiddleware: Middleware | undefined;
  /** One middleware per decorated route this guard serves (built once, when the route is), with and without the escaped-error catch. */
  private readonly decoratedRoutes = new Map<Function, Map<string | symbol, [Middleware | undefined, Middleware | undefined]>>();
  /** The options as given, copied: `isMadeOf` tells a later change of the same object. */
  private readonly madeOf: OptionsSnapshot;
  /** What the verifier is told when there is no CSRF value to match (one object, not one per request). */
  private readonly authorizeOptions: AuthorizeOptions;

  /**
   * @example const guard = new Guard({ fresh: true })
   * @throws JwtUsageError listing every problem with `options`
   */
  constructor(options: GuardOptions = {}) {
    const problems = optionProblems(options);
    if (problems.length > 0) throw new JwtUsageError(`Invalid guard options:\n  - ${problems.join('\n  - ')}`);
    this.madeOf = snapshot(options);
    const refresh = options.refresh === true;
    this.requirement = Object.freeze({
      type: options.verifyType === false ? 'any' : refresh ? 'refresh' : 'access',
      fresh: options.fresh === true,
    });
    this.extractAs = refresh ? 'refresh' : 'access';
    this.optional = options.optional === true;
    this.locations = options.locations === undefined ? undefined : Object.freeze([options.locations].flat());
    this.skipRevocationCheck = options.skipRevocationCheck === true;
    this.roles = options.roles === undefined ? undefined : Object.freeze([...options.roles]);
    this.scopes = options.scopes === undefined ? undefined : Object.freeze([...options.scopes]);
    this.claimsCheck = options.claimsCheck;
    this.authorizeOptions = Object.freeze({ skipRevocationCheck: this.skipRevocationCheck });
  }

  /**
   * Whether `options` still say what they said when this guard was made from them (every
   * option, list contents and the number of own keys compared; nothing allocated).
   *
   * @example if (!guard.isMadeOf(options)) guard = new Guard(options)
   */
  isMadeOf(options: GuardOptions): boolean {
    const was = this.madeOf.values;
    for (const name of OPTION_LIST) if (!sameValue((options as Record<string, unknown>)[name], was[name])) return false;
    return keyCount(options) === this.madeOf.keys;
  }

  /** This guard as a Koa middleware (one per guard). */
  get middleware(): Middleware {
    return (this.routeMiddleware ??= guardMiddleware(this, undefined, true));
  }

  /**
   * This guard as the middleware of the decorated route serving `target`'s `method`: the
   * context it makes names the route, so the method's wrapper knows the routed call (whose
   * CSRF this middleware decided by the request's method) from a direct call.
   * `middlewareFollows`: the route runs other middleware of its own after this one (a
   * `@UseBefore`). Without any, everything downstream is routing-controllers' action, whose
   * errors its `handleError` answers (a `JwtError` through the loaders, escaped-errors.ts), so
   * the middleware does not wrap the rest of the route in a catch of its own (a promise and a
   * reaction per request: 280 instructions on Node 24, 1 000 on Node 20).
   */
  middlewareFor(target: Function, method: string | symbol, middlewareFollows = true): Middleware {
    let byMethod = this.decoratedRoutes.get(target);
    if (!byMethod) this.decoratedRoutes.set(target, (byMethod = new Map()));
    let pair = byMethod.get(method);
    if (!pair) byMethod.set(method, (pair = [undefined, undefined]));
    const index = middlewareFollows ? 0 : 1;
    return (pair[index] ??= guardMiddleware(this, Object.freeze({ target, method }), middlewareFollows));
  }

  /**
   * Authenticates a Koa request as the route with HTTP method `method` would (CSRF is
   * decided by it): the request context, without a promise when nothing asynchronous
   * is needed (the hot path), else a promise of it. Refusals throw or reject with a `JwtError`.
   */
  authenticate(ctx: Context, manager: JwtManager, method?: string): JwtRequestContext | Promise<JwtRequestContext> {
    const { config, verifier } = manager;
    let found;
    try {
      found = extractToken(ctx, config, this.locations ?? config.tokenLocation, this.extractAs, method, verifier);
    } catch (error) {
      if (this.optional && error instanceof NoAuthorizationError) return { token: undefined, payload: undefined, guard: this, ctx };
      throw error;
    }
    const { token, location, csrfValue } = found;
    const csrfChecked = csrfValue !== undefined;
    try {
      const options = csrfChecked ? { csrfValue, skipRevocationCheck: this.skipRevocationCheck } : this.authorizeOptions;
      const payload = verifier.authorizeNow(token, this.requirement, options);
      if (payload instanceof Promise) {
        return payload.then((p) => this.confirmSender({ token, payload: p, guard: this, ctx, location, csrfChecked }, found, manager)).catch((e) => refusedAt(e, location));
      }
      const finished = this.confirmSender({ token, payload, guard: this, ctx, location, csrfChecked }, found, manager);
      return finished instanceof Promise ? finished.catch((e) => refusedAt(e, location)) : finished;
    } catch (error) {
      return refusedAt(error, location);
    }
  }

  /** Authorizes a token known without a request (the testing kit); `undefined` = no token at all. */
  async authorizeToken(token: string | undefined, manager: JwtManager): Promise<JwtRequestContext> {
    if (token === undefined || token === '') {
      if (this.optional) return { token: undefined, payload: undefined, guard: this };
      throw missingTokenError(manager.config, this.locations ?? manager.config.tokenLocation, this.extractAs);
    }
    const payload = await manager.verifier.authorize(token, this.requirement, { skipRevocationCheck: this.skipRevocationCheck });
    const dpopRequest = currentContext()?.dpopRequest; // withToken(token, fn, { dpop }) stands in for the request
    return this.confirmSender({ token, payload, guard: this }, { token, dpopScheme: dpopRequest !== undefined }, manager, dpopRequest);
  }

  /** DPoP (RFC 9449): the token's sender, after the token's own checks (revocation included), before the rest. */
  private confirmSender(context: JwtRequestContext, found: FoundToken | { token: string; dpopScheme?: boolean }, manager: JwtManager, dpopRequest?: ProofRequest): JwtRequestContext | Promise<JwtRequestContext> {
    const thumbprint = confirmRequestSender(context.ctx as Context | undefined, found, context.payload!, manager.config, dpopRequest);
    if (thumbprint === undefined) return this.finish(context, manager);
    if (typeof thumbprint === 'string') return this.finish(Object.assign(context, { dpopThumbprint: thumbprint }), manager);
    return thumbprint.then((settled) => this.finish(Object.assign(context, { dpopThumbprint: settled }), manager));
  }

  /**
   * The checks after verification, in fje's order: `tokenVerificationLoader` (400),
   * then this guard's roles and claimsCheck (403), then the user lookup (401). Nothing
   * here runs for a refused token or an anonymous optional request.
   */
  private finish(context: JwtRequestContext, manager: JwtManager): JwtRequestContext | Promise<JwtRequestContext> {
    const needed = manager.tokenVerificationLoader !== undefined || this.roles !== undefined || this.scopes !== undefined || this.claimsCheck !== undefined
      || manager.userLookupLoader !== undefined;
    if (!needed || context.payload === undefined) return context;
    const outer = currentContext();
    // the checks run in this token's context, so the getters work inside them (fje's get_jwt() in its callbacks)
    return manager.config.requestContext
      ? runInContext(context, () => this.finishAsync(context, context.payload!, manager, outer))
      : this.finishAsync(context, context.payload, manager, outer);
  }

  private async finishAsync(context: JwtRequestContext, payload: TokenPayload, manager: JwtManager, outer: JwtRequestContext | undefined): Promise<JwtRequestContext> {
    if (manager.tokenVerificationLoader && (await manager.tokenVerificationLoader(payload)) !== true) throw new TokenVerificationError(payload);
    if (this.roles !== undefined && !hasAnyRole(claimAt(payload, manager.config.rolesPath), this.roles)) throw new ForbiddenError(payload);
    if (this.scopes !== undefined && !grantsAllScopes(payload, this.scopes)) throw new InsufficientScopeError(payload, this.scopes);
    if (this.claimsCheck !== undefined && (await this.claimsCheck(payload)) !== true) throw new ForbiddenError(payload);
    if (manager.userLookupLoader) {
      // a guarded method called from a handler: the request's user, loaded once
      const user = outer?.user !== undefined && outer.token === context.token ? outer.user : await manager.userLookupLoader(payload);
      if (user === null || user === undefined) throw new UserLookupError(payload, payload[manager.config.identityClaim]);
      context.user = user;
    }
    return context;
  }
}

/**
 * Whether a roles claim (a string or a list of strings) holds at least one of `roles`.
 *
 * @example hasAnyRole(payload.roles, ['admin'])
 */
export function hasAnyRole(claim: unknown, roles: readonly string[]): boolean {
  if (typeof claim === 'string') return roles.includes(claim);
  return Array.isArray(claim) && claim.some((role) => typeof role === 'string' && roles.includes(role));
}

function refusedAt(error: unknown, location: TokenLocation): never {
  if (error instanceof JwtError) markRefusedAt(error, location);
  throw error;
}

/**
 * The response for a refused request: the loader's (given `ctx`), or the default.
 * Publishes the refusal on `koa-jwt-extended:refused`.
 */
export async function refusal(error: JwtError, manager: JwtManager, ctx?: Context): Promise<LoaderResponse> {
  const response = await errorResponse(error, manager, manager.config.errorMessageKey, ctx);
  publishRefused(error, ctx, response.status);
  return response;
}

/**
 * RFC 6750 §3: the challenge of a 401. For a token that belongs in the Authorization header,
 * its scheme with the refusal; with `invalidTokenStatus: 401` (RFC 6750 clients) every refused
 * token's 401 carries `error="invalid_token"` (RFC 7235 §3.1: a 401 carries a challenge),
 * wherever the token was and however malformed the header holding it. `guard` is undefined
 * for a refusal thrown downstream of the guard.
 */
function bearerChallenge(error: JwtError, guard: Guard | undefined, manager: JwtManager): string | undefined {
  const { headerKey, headerType, tokenLocation, invalidTokenStatus } = manager.config;
  const scheme = headerType !== '' && headerKey === 'authorization' ? headerType : undefined;
  if (error instanceof NoAuthorizationError) {
    const missing = error.code === 'ERR_JWT_MISSING' || error.code === 'ERR_JWT_SCHEME';
    return scheme !== undefined && missing && (guard?.locations ?? tokenLocation).includes('headers') ? scheme : undefined;
  }
  if (scheme !== undefined && refusedLocation(error) === 'headers') return invalidTokenChallenge(scheme, error);
  // a CSRF failure refuses no token: it stays without
  if (invalidTokenStatus === 401 && error.kind !== 'unauthorized') return invalidTokenChallenge(scheme ?? 'Bearer', error);
  return undefined;
}

/** RFC 6750 §3.1: the challenge of a 403 for a token that lacks a required scope. */
function scopeChallenge(error: InsufficientScopeError, manager: JwtManager): string | undefined {
  const { headerKey, headerType } = manager.config;
  if (headerType === '' || headerKey !== 'authorization' || refusedLocation(error) !== 'headers') return undefined;
  return insufficientScopeChallenge(headerType, error.scopes);
}

/** Writes the refusal of a request; anything that is not a refusal propagates (a 500 for the app to log). */
export async function respondRefused(ctx: Context, error: unknown, guard: Guard, manager: JwtManager): Promise<void> {
  if (!(error instanceof JwtError)) throw error;
  const response = await refusal(error, manager, ctx);
  ctx.status = response.status;
  ctx.body = response.body;
  if (setDpopRefusalHeaders(ctx, error)) return; // set whatever the loader answered (RFC 9449 §7.1)
  const challenge = response.status === 401 ? bearerChallenge(error, guard, manager)
    : response.status === 403 && error instanceof InsufficientScopeError ? scopeChallenge(error, manager) : undefined;
  if (challenge !== undefined) ctx.set('WWW-Authenticate', challenge);
}

/**
 * The Koa middleware of a guard. It writes its own JSON refusal (an error thrown from a
 * routing-controllers middleware would become a 500) and runs the rest of the route
 * inside the request context, with the payload on `ctx.state.jwt`. With `catchEscaped`, a
 * `JwtError` the rest of the route throws answers through the loaders (see `proceed`).
 */
function guardMiddleware(guard: Guard, route: GuardedRoute | undefined, catchEscaped: boolean): Middleware {
  // not async: on the hot path (no store round trip) a request costs no extra promise
  return function jwtGuard(ctx, next) {
    const manager = JwtManager.instance;
    let context: JwtRequestContext | Promise<JwtRequestContext>;
    try {
      context = guard.authenticate(ctx, manager);
    } catch (error) {
      return refuse(ctx, error, guard, manager);
    }
    if (!(context instanceof Promise)) return proceed(ctx, next, context, manager, route, catchEscaped);
    return context.then((settled) => proceed(ctx, next, settled, manager, route, catchEscaped), (error) => refuse(ctx, error, guard, manager));
  };
}

/** OPTIONS never runs a guarded handler anonymously: without a passing token the guard answers 204 itself. */
function refuse(ctx: Context, error: unknown, guard: Guard, manager: JwtManager): Promise<void> {
  if (ctx.method === 'OPTIONS' && error instanceof JwtError) return answerOptions(ctx);
  return respondRefused(ctx, error, guard, manager);
}

async function answerOptions(ctx: Context): Promise<void> {
  ctx.status = 204;
  ctx.body = null;
}

/** What every door leaves on `ctx.state`: the payload (`jwt`) and the looked-up user (`jwtUser`). */
export function exposeOnState(ctx: Context, context: JwtRequestContext): void {
  ctx.state.jwt = context.payload;
  if (context.user !== undefined) ctx.state.jwtUser = context.user;
}

/**
 * Runs the rest of the route: the payload on `ctx.state.jwt`, the proof for the method, the
 * request context; with `catchEscaped`, a `JwtError` from the rest answers through the loaders.
 */
function proceed(ctx: Context, next: Next, context: JwtRequestContext, manager: JwtManager, route: GuardedRoute | undefined, catchEscaped: boolean): Promise<unknown> {
  if (ctx.method === 'OPTIONS' && context.payload === undefined) return answerOptions(ctx);
  exposeOnState(ctx, context);
  publishAllowed(context.payload, ctx);
  context.route = route;
  (ctx.state as Record<symbol, unknown>)[ROUTE_PROOF] = (context.guard as Guard).proof;
  const guard = context.guard as Guard;
  if (!guard.skipRevocationCheck && tracksRefreshToken(manager.config, context.payload)) return proceedWithRefreshToken(ctx, next, context, manager);
  const rest = manager.config.requestContext ? runInContext(context, next) : next();
  return catchEscaped ? rest.then(undefined, (error: unknown) => answerEscaped(ctx, error, manager)) : rest;
}

/** The rest of a route a refresh token authenticated, in a refresh scope: a used one that did not rotate is answered as reuse. */
async function proceedWithRefreshToken(ctx: Context, next: Next, context: JwtRequestContext, manager: JwtManager): Promise<void> {
  const scope = newRefreshScope(ctx);
  const guard = context.guard as Guard;
  try {
    await presentRefreshToken(manager.config, scope, context.payload!, guard);
  } catch (error) {
    return respondRefused(ctx, error, guard, manager);
  }
  const rest = () => (manager.config.requestContext ? runInContext(context, next) : next());
  let escaped: unknown;
  try {
    await runInRefreshScope(scope, rest);
  } catch (error) {
    escaped = error;
  }
  if (await settleRefreshScope(ctx, scope, manager, escaped !== undefined)) return;
  if (escaped !== undefined) return answerEscaped(ctx, escaped, manager);
}

/**
 * After a door's refresh scope ends (`failed`: an error escaped the rest): the reuse it owes
 * answered (true), and what the guard put on `ctx.state` for a used token taken back either way,
 * so a middleware in front has nothing to mint from (a used token's request yields its pair only).
 *
 * @example if (await settleRefreshScope(ctx, scope, manager, false)) return
 */
export async function settleRefreshScope(ctx: Context, scope: RefreshScope, manager: JwtManager, failed: boolean): Promise<boolean> {
  if (owesReuse(scope, failed)) {
    await answerReuse(ctx, scope, manager);
    return true;
  }
  if (scope.wasUsed) forgetIdentity(ctx);
  return false;
}

/** What the guard put on `ctx.state` for the token, taken back. */
function forgetIdentity(ctx: Context): void {
  delete ctx.state.jwt;
  delete ctx.state.jwtUser;
}

/**
 * A request whose used refresh token got no successor pair through `rotateRefreshToken()`:
 * reuse, whatever the handler answered (its response and cookies are replaced, the family revoked).
 *
 * @example if (owesReuse(scope)) await answerReuse(ctx, scope, manager)
 */
export async function answerReuse(ctx: Context, scope: RefreshScope, manager: JwtManager): Promise<void> {
  const error = await reuseRefusal(manager.config, scope);
  forgetIdentity(ctx); // no one's now: a middleware in front reading it after next() mints nothing from it
  if (ctx.headerSent) return; // streamed already: the family is revoked, which is what is left to do
  ctx.remove('Set-Cookie');
  return respondRefused(ctx, error, scope.guard as Guard, manager);
}

/**
 * A `JwtError` thrown downstream of the guard (a handler's `decodeToken()` of an expired token)
 * answers through the loaders, as the guard's own refusals do; anything else propagates.
 */
async function answerEscaped(ctx: Context, error: unknown, manager: JwtManager): Promise<void> {
  if (!(error instanceof JwtError)) throw error;
  const response = await refusal(error, manager, ctx);
  ctx.status = response.status;
  ctx.body = response.body;
  const challenge = response.status === 401 ? bearerChallenge(error, undefined, manager) : undefined;
  if (challenge !== undefined) ctx.set('WWW-Authenticate', challenge);
}
