/**
 * The request context: the verified token of the request being served, reachable
 * anywhere in its async call chain through AsyncLocalStorage, and the getters that
 * read it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { JwtUsageError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { TokenLocation } from '../core/options';
import type { JwtPayload } from '../core/payload';
import type { TokenPayload } from '../core/responses';
import { headerOf } from '../core/verify';
import { parseCompactToken } from '../core/jws';
import { hasEnded, outsideRefreshScope } from '../core/refresh-scope';
import { runWithStore } from '../core/async-context';

export interface JwtRequestContext {
  /** The raw token the request carried (or `withToken` gave), if any. */
  token: string | undefined;
  /** The verified payload; `undefined` until authorized, or on an anonymous optional request. */
  payload: TokenPayload | undefined;
  /** The guard already enforced for this context (a guarded method called under any other re-checks). */
  guard: object | undefined;
  /** The Koa context of the request (`undefined` for the testing kit's `withToken`). */
  ctx?: unknown;
  /** Where the token was found; `undefined` when an optional route got none. */
  location?: TokenLocation;
  /** Whether the CSRF double submit was checked for this token (a cookie token on a CSRF method). */
  csrfChecked?: boolean;
  /** The user `userLookupLoader` loaded for this token, if one is configured. */
  user?: unknown;
  /** The thumbprint of the DPoP proof verified with this token (a DPoP-bound token). */
  dpopThumbprint?: string;
  /** For the testing kit's `withToken`: the request a DPoP proof is checked against. */
  dpopRequest?: { method: string; uri: string; dpop: string | undefined };
  /** The decorated route whose own guard made this context: a call of its method is the routed call. */
  route?: GuardedRoute;
}

/** A decorated route: the controller class served and the method its requests call. */
export interface GuardedRoute {
  readonly target: Function;
  readonly method: string | symbol;
}

/**
 * The request context store. It is only ever entered with `run()`, for the extent of one
 * request (or one direct call): `enterWith()` would leave the context on whatever async
 * resource is current, which on Node 20 and 22 is the HTTP parser that serves every later
 * request on the same keep-alive socket.
 */
export const requestContext = new AsyncLocalStorage<JwtRequestContext>();

/**
 * Runs `fn` outside any request: no request context and no refresh scope, for `fn` and for every
 * async resource it creates. Start long-lived work with it when a request may be the first to
 * need it (a job queue's `setInterval`, a pool's connections, a listener): AsyncLocalStorage gives
 * such a resource the context of the request that created it, and while that request is still
 * open nothing can tell a job another request queued from the first request's own work. A worker
 * started this way runs every job as a call outside any request: guarded methods refuse it (401),
 * the getters throw.
 *
 * @example const timer = runOutsideRequest(() => setInterval(runQueuedJobs, 100))
 */
export function runOutsideRequest<T>(fn: () => T): T {
  return requestContext.exit(() => outsideRefreshScope(fn));
}

/**
 * The context of the request being served, if any: `undefined` outside a request, and also once
 * the response of the request the context was entered for has ended (`res.end()` called, as Koa
 * does after the last middleware, or a stream body piped to its end) or its connection closed.
 * An async resource created during a request (a `setInterval` started lazily by a handler, a
 * listener, a pool's socket) keeps the AsyncLocalStorage context of that request forever: without
 * this check, work it runs later for another request would run as the first request's token.
 * Checked when read rather than cleared by a listener, so the request path adds no listener; until
 * then the context works, in downstream middleware before Koa writes the body, in a stream body
 * being piped, in a timer that fires while a handler awaits it, and with `ctx.respond = false`
 * until the handler ends `ctx.res` itself. The testing kit's `withToken()` has no response: its
 * context lasts as long as the async resources created in its callback.
 */
export function currentContext(): JwtRequestContext | undefined {
  const context = requestContext.getStore();
  if (context === undefined || context.ctx === undefined) return context;
  return hasEnded(context.ctx) ? undefined : context;
}

/**
 * Runs `next` in a fresh, empty context of its own for the request `ctx` (what
 * `verifyJwtInRequest` fills in, and what guarded methods called directly check against).
 */
export function runInRequestScope<T>(ctx: unknown, next: () => T): T {
  return runInContext({ token: undefined, payload: undefined, guard: undefined, ctx }, next);
}

/** `requestContext.run(context, fn)`, at the cheaper cost of {@link runWithStore}. @example runInContext(context, next) */
export function runInContext<T>(context: JwtRequestContext, fn: () => T): T {
  return runWithStore(requestContext, context, fn);
}

/** The context entered for the request `ctx`, if something ran one for it. */
export function scopeOf(ctx: unknown): JwtRequestContext | undefined {
  const current = currentContext();
  return current !== undefined && current.ctx === ctx ? current : undefined;
}

function authorizedContext(caller: string): JwtRequestContext {
  const context = currentContext();
  if (!context?.guard) {
    if (JwtManager.isConfigured && !JwtManager.instance.config.requestContext) {
      throw new JwtUsageError(`${caller} needs the request context, which is off (requestContext: false): use @Identity(), @Claims() or ctx.state.jwt`);
    }
    throw new JwtUsageError(
      `${caller} was called outside a protected request: use it inside a route guarded by @JwtRequired() (or another guard decorator), ` +
        'jwtRequired(), or after verifyJwtInRequest(ctx) in a request that app.use(jwtContext()) covers (or read ctx.state.jwt)',
    );
  }
  return context;
}

/**
 * The identity of the current request's token (`undefined` on an anonymous optional request).
 *
 * @example const username = getJwtIdentity()
 */
export function getJwtIdentity(): string | undefined {
  const payload = authorizedContext('getJwtIdentity()').payload;
  return payload?.[JwtManager.instance.config.identityClaim] as string | undefined;
}

/**
 * The verified payload of the current request's token, custom claims at the top level
 * (typed by `C`; the standard claims always are). On an anonymous `@JwtOptional()`
 * request it is `{}`, as Flask-JWT-Extended's `get_jwt()` answers: check `getJwtIdentity()` first there.
 *
 * @example const { roles, jti } = getJwtClaims<{ roles: string[] }>()
 */
export function getJwtClaims<C extends object = Record<string, unknown>>(): JwtPayload<C> {
  return (authorizedContext('getJwtClaims()').payload ?? {}) as JwtPayload<C>;
}

/**
 * The verified JOSE header of the current request's token (`{}` on an anonymous optional request).
 *
 * @example const { kid } = getJwtHeader()
 */
export function getJwtHeader(): Record<string, unknown> {
  const payload = authorizedContext('getJwtHeader()').payload;
  return payload === undefined ? {} : headerOf(payload);
}

/**
 * Where the current request's token was found: `'headers' | 'cookies' | 'query' | 'json'`,
 * or `undefined` when an optional route got no token (or for the testing kit's `withToken`).
 *
 * @example if (getJwtRequestLocation() === 'cookies') unsetJwtCookies(ctx)
 */
export function getJwtRequestLocation(): TokenLocation | undefined {
  return authorizedContext('getJwtRequestLocation()').location;
}

/**
 * The user `userLookupLoader` loaded for the current request's token.
 *
 * @example const user = getCurrentUser<User>()
 */
export function getCurrentUser<U = unknown>(): U | undefined {
  const context = authorizedContext('getCurrentUser()');
  if (JwtManager.instance.userLookupLoader === undefined) {
    throw new JwtUsageError('getCurrentUser() needs a userLookupLoader: JwtManager.configure({ userLookupLoader: (payload) => findUser(payload.sub) })');
  }
  return context.user as U | undefined;
}

/**
 * The JOSE header of a token, decoded WITHOUT verifying anything: never trust it
 * for a decision (fje's `get_unverified_jwt_headers`). A malformed token rejects with
 * an `InvalidTokenError`.
 *
 * @example const { kid, alg } = getUnverifiedJwtHeaders(token)
 */
export function getUnverifiedJwtHeaders(token: string): Record<string, unknown> {
  return { ...parseCompactToken(String(token), JwtManager.instance.config.maxTokenLength).header };
}

/**
 * The `jti` of a token, after full verification (signature, claims, times; not the store).
 *
 * @example await revokeToken(await getJti(refreshToken))
 */
export async function getJti(token: string): Promise<string> {
  const payload = await JwtManager.instance.decodeToken(token);
  return payload.jti as string;
}
