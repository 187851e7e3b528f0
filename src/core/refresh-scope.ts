/**
 * Within `reuseIntervalSeconds` a used refresh token passes the guard, so that
 * `rotateRefreshToken()` can hand back the pair it already handed out; it yields nothing else
 * (DESIGN H), whichever way the library is called (DESIGN G). Each door that authenticates a
 * refresh token records it in a per-request scope of its own (entered with `run()`, never
 * `enterWith()`, and whatever `requestContext` says):
 * - every way to mint (`createAccessToken`/`createRefreshToken`, module-level or on the manager)
 *   asks the scope first, and refuses a used token as reuse;
 * - a door that wraps the handler (`jwtRequired()`, the decorators, `jwtContext()`) answers a
 *   request whose used token did not get its pair through `rotateRefreshToken()` as reuse, after
 *   the handler (the response replaced, the family revoked);
 * - a door that can do neither (`verifyJwtInRequest()` without `jwtContext()`) refuses a used
 *   token as reuse up front.
 *
 * The scope also carries the presented token's session start (`maxSessionLifetime`, DESIGN H):
 * a token minted for the same identity while a refresh token is being used (`createRefreshToken()`
 * instead of `rotateRefreshToken()`, `createAccessToken()`) continues that session, so it keeps the
 * first token's start and is capped at start + the bound; once the session has ended the mint is
 * refused (`ExpiredTokenError`, 401). Kept rather than refused outright: minting from a refresh
 * route is the fje pattern (and the only one with rotation off); what must not happen is the
 * absolute lifetime starting again. A token for another identity (an admin's route) starts its own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { runWithStore } from './async-context';
import { ExpiredTokenError, RevokedTokenError } from './errors';
import { nowSeconds } from './claims';
import type { JwtConfig } from './options';
import type { TokenPayload } from './responses';
import { isRefreshTokenUsed, refuseAsReuse, sessionStartOf } from './sessions';

/** What one request's door knows about the refresh token that authenticated it. */
export interface RefreshScope {
  /** The request (a Koa context) or direct call this scope belongs to. */
  readonly owner: unknown;
  /** The scope of the same request this one is nested in (a guard behind `jwtContext()`). */
  readonly parent: RefreshScope | undefined;
  /** The refresh token that authenticated the request; `undefined` until one did. */
  payload: TokenPayload | undefined;
  /** It was used (rotated) already when the request presented it: only its successor pair may leave. */
  wasUsed: boolean;
  /** What this request's own `rotateRefreshToken()` of that token answered (`attempted`: the store did not answer). */
  rotation: 'rotated' | 'retry' | 'attempted' | undefined;
  /** The guard that checked it (for the refusal's challenge). */
  guard: object | undefined;
  /** Reuse was detected in this request already (the family is revoked). */
  reused: boolean;
  /** The door that entered it is still running the rest of its request (`runInRefreshScope`). */
  running: boolean;
}

const scopes = new AsyncLocalStorage<RefreshScope>();

type MaybeResponse = { writableEnded?: boolean; destroyed?: boolean; headersSent?: boolean; stream?: { destroyed?: boolean; closed?: boolean } } | undefined;

/**
 * Whether the request `owner` stands for (a Koa context, or a direct call's request context) has
 * ended its response: ended, its connection closed, or its HTTP/2 stream reset. The request
 * context (`currentContext()`) and the refresh scope end by it alike.
 */
export function hasEnded(owner: unknown): boolean {
  const res = responseOf(owner);
  return res !== undefined && (res.writableEnded === true || isGone(res));
}

/** A response whose connection (HTTP/1) or stream (HTTP/2: `res.destroyed` stays unset on a reset) is gone. */
function isGone(res: NonNullable<MaybeResponse>): boolean {
  return res.destroyed === true || res.stream?.destroyed === true || res.stream?.closed === true;
}

/** The Node response of a scope's owner (a Koa context, or a direct call's request context). */
function responseOf(owner: unknown): MaybeResponse {
  if (typeof owner !== 'object' || owner === null) return undefined;
  return (owner as { res?: MaybeResponse }).res ?? (owner as { ctx?: { res?: MaybeResponse } }).ctx?.res;
}

/**
 * The refresh scope the running code is in, while its request lasts: while the door that entered
 * it still runs the rest of the request (its handler, also after the client aborted), or after
 * that while the response is still open (`ctx.respond = false`, a handler ending `ctx.res` later).
 * After both, like the request context (`currentContext()`), the scope is over: a timer, a pooled
 * connection or a job queue created in that request and run later never mints under (nor is capped
 * by, nor revokes the family of) its refresh token.
 */
function liveScope(): RefreshScope | undefined {
  const scope = scopes.getStore();
  return scope === undefined || (!scope.running && hasEnded(scope.owner)) ? undefined : scope;
}

/** A new, empty scope for `owner`, nested in the current one when that belongs to the same request. */
export function newRefreshScope(owner: unknown): RefreshScope {
  const current = liveScope();
  const parent = current !== undefined && current.owner === owner ? current : undefined;
  return { owner, parent, payload: undefined, wasUsed: false, rotation: undefined, guard: undefined, reused: false, running: false };
}

/** Runs `fn` outside any refresh scope (what it starts, too). @example outsideRefreshScope(() => setInterval(work, 1000)) */
export function outsideRefreshScope<T>(fn: () => T): T {
  return scopes.exit(fn);
}

/** Runs `fn` in `scope`; the scope counts as running until what `fn` returns settles. @example await runInRefreshScope(scope, next) */
export async function runInRefreshScope<T>(scope: RefreshScope, fn: () => T | Promise<T>): Promise<T> {
  scope.running = true;
  try {
    return await runWithStore(scopes, scope, fn);
  } finally {
    scope.running = false;
  }
}

/** The scope entered for `owner`, if one was. */
export function refreshScopeOf(owner: unknown): RefreshScope | undefined {
  const current = liveScope();
  return current !== undefined && current.owner === owner ? current : undefined;
}

/**
 * Whether a door must track this token: a refresh token, and either refresh rotation on with the
 * store checked (reuse), or `maxSessionLifetime` set (the session start minted tokens inherit).
 * @example if (tracksRefreshToken(config, payload)) ...
 */
export function tracksRefreshToken(config: JwtConfig, payload: TokenPayload | undefined): payload is TokenPayload {
  const revocation = config.revocation;
  if (payload?.type !== 'refresh' || revocation === undefined) return false;
  return (revocation.refreshRotation && revocation.storeHas.inspect) || revocation.maxSessionLifetime !== undefined;
}

/**
 * The session a token minted now for `identity` continues: in a request a refresh token of that
 * identity authenticated, its start (`undefined` elsewhere, or with no `maxSessionLifetime`).
 * Throws `ExpiredTokenError` once that session has reached start + `maxSessionLifetime`.
 *
 * @example const session = continuedSession(config, 'alice') // { startedAt } inside alice's refresh route
 */
export function continuedSession(config: JwtConfig, identity: string): { startedAt: number } | undefined {
  const bound = config.revocation?.maxSessionLifetime;
  if (bound === undefined) return undefined;
  for (let scope = liveScope(); scope !== undefined; scope = scope.parent) {
    const presented = scope.payload;
    if (presented === undefined || String(presented[config.identityClaim]) !== identity) continue;
    const startedAt = sessionStartOf(presented);
    if (nowSeconds() >= startedAt + bound) throw new ExpiredTokenError(presented); // the session has reached its absolute end
    return { startedAt };
  }
  return undefined;
}

/**
 * Records in `scope` the refresh token that authenticated the request, and whether it was used
 * already (a store read: the tier answers at once after the guard's own check).
 */
export async function presentRefreshToken(config: JwtConfig, scope: RefreshScope, payload: TokenPayload, guard: object): Promise<void> {
  scope.wasUsed = await isRefreshTokenUsed(config, payload);
  scope.payload = payload;
  scope.guard = guard;
}

/**
 * `rotateRefreshToken()` answered for `presented` (or, `attempted`, is asking the store): noted in
 * every scope of the request that it authenticated. A rotation the store could not answer (503)
 * is no reuse: the request tried the one thing a used token may do.
 */
export function noteRotation(presented: TokenPayload, outcome: 'rotated' | 'retry' | 'attempted'): void {
  for (let scope = liveScope(); scope !== undefined; scope = scope.parent) {
    if (scope.payload?.jti !== presented.jti || scope.rotation === 'rotated') continue;
    if (outcome !== 'attempted' || scope.rotation === undefined) scope.rotation = outcome;
  }
}

/**
 * Before any token is minted: in a request a refresh token authenticated, a used one (used
 * when presented, or rotated since by another request, or answered as a retry here) is reuse:
 * the family is revoked and this rejects with `RevokedTokenError`. Minting after this request's
 * own first rotation of it is the route's business.
 *
 * @example await refuseMintingWithUsedToken(config)
 */
export async function refuseMintingWithUsedToken(config: JwtConfig): Promise<void> {
  const scope = liveScope();
  if (scope !== undefined) await refuseIfUsed(config, scope);
}

async function refuseIfUsed(config: JwtConfig, scope: RefreshScope): Promise<void> {
  const payload = scope.payload;
  if (payload === undefined || scope.rotation === 'rotated') return;
  if (scope.wasUsed || scope.rotation === 'retry' || (await isRefreshTokenUsed(config, payload))) {
    scope.wasUsed = true;
    scope.reused = true;
    await refuseAsReuse(config, payload);
  }
}

/**
 * The refusal of a request that owes reuse: the family revoked (once per request), then
 * `RevokedTokenError` as the value (not thrown).
 *
 * @example const error = await reuseRefusal(config, scope)
 */
export async function reuseRefusal(config: JwtConfig, scope: RefreshScope): Promise<unknown> {
  if (scope.reused) return new RevokedTokenError(scope.payload!);
  scope.reused = true;
  return refuseAsReuse(config, scope.payload!).catch((error: unknown) => error);
}

/**
 * After the handler: a used token that did not get its pair through `rotateRefreshToken()`, nor
 * tried to (see `noteRotation`). Nothing is owed when the handler failed (`failed`: an error
 * escaped it) or the client went away before its response was complete, as long as nothing of the
 * response was sent: nothing left the request, and an honest retry cut short must not log its
 * user out. Once headers went out (a streamed or flushed response), it is owed all the same. A
 * mint refused as reuse (`reused`) is owed whatever happened after.
 */
export function owesReuse(scope: RefreshScope, failed = false): boolean {
  if (scope.payload === undefined) return false;
  if (scope.reused) return true;
  if (!scope.wasUsed || scope.rotation !== undefined) return false;
  const res = responseOf(scope.owner);
  const cutShort = failed || (res !== undefined && isGone(res) && res.writableEnded !== true);
  return !cutShort || res?.headersSent === true; // once headers or body went out, something left it
}
