/**
 * Observability through `node:diagnostics_channel`, the Node ecosystem's way for a
 * library to publish events without a logging dependency (undici, fastify do the same).
 * Publishers check `hasSubscribers` first, so an unobserved channel costs nothing.
 * `koa-jwt-extended/opentelemetry` turns these channels into metrics and span events.
 *
 * @example
 * import diagnostics from 'node:diagnostics_channel';
 * diagnostics.subscribe('koa-jwt-extended:store-error', ({ error, operation }) => log.warn({ error, operation }));
 */
import diagnostics from 'node:diagnostics_channel';
import { withoutCsrf } from './payload';
import { noteStoreFailure } from './store-health';

/** `{ error, ctx, status }` for every refused request (the `JwtError`, the Koa context if any, the status answered). */
export const REFUSED_CHANNEL = 'koa-jwt-extended:refused';
/** `{ payload, ctx }` for every request a guard let through (once per request, not per re-check). */
export const ALLOWED_CHANNEL = 'koa-jwt-extended:allowed';
/** `{ error, operation }` whenever a call into the revocation store fails (the store's own error). */
export const STORE_ERROR_CHANNEL = 'koa-jwt-extended:store-error';
/** `{ operation, duration, error? }` after every asynchronous call into the revocation store (`duration` in seconds). */
export const STORE_CALL_CHANNEL = 'koa-jwt-extended:store-call';
/** `{ kind: 'token' | 'identity' | 'family', jti?, identity?, family? }` after every revocation the store confirmed. */
export const REVOCATION_CHANNEL = 'koa-jwt-extended:revocation';
/** `{ payload, family }` when a used refresh token is presented again (the family is revoked). */
export const REUSE_CHANNEL = 'koa-jwt-extended:refresh-reuse';
/** `{ uri, outcome: 'success' | 'error', duration, error? }` after every fetch of a remote key set or its metadata. */
export const JWKS_FETCH_CHANNEL = 'koa-jwt-extended:jwks-fetch';

const refused = diagnostics.channel(REFUSED_CHANNEL);
const allowed = diagnostics.channel(ALLOWED_CHANNEL);
const storeError = diagnostics.channel(STORE_ERROR_CHANNEL);
const storeCall = diagnostics.channel(STORE_CALL_CHANNEL);
const revocation = diagnostics.channel(REVOCATION_CHANNEL);
const reuse = diagnostics.channel(REUSE_CHANNEL);
const jwksFetch = diagnostics.channel(JWKS_FETCH_CHANNEL);

/**
 * Published on `REFUSED_CHANNEL` for every refused request.
 */
export interface RefusedMessage {
  error: Error;
  ctx: unknown;
  /** The status the request was answered with (a loader may have chosen another than the error's). */
  status?: number;
}

/**
 * Published on `ALLOWED_CHANNEL` for every request a guard let through.
 */
export interface AllowedMessage {
  /** The verified payload; `undefined` for an optional route that got no token. */
  payload: Record<string, unknown> | undefined;
  ctx: unknown;
}

/**
 * Published on `STORE_ERROR_CHANNEL` for every failed store call.
 */
export interface StoreErrorMessage {
  error: unknown;
  /** The store method or library step that failed, e.g. `'find'`, `'add'`, `'subscribe'`. */
  operation: string;
}

/**
 * Published on `STORE_CALL_CHANNEL` after every store call that leaves the process, with its duration in seconds.
 */
export interface StoreCallMessage {
  operation: string;
  /** Seconds from the call to its settling. */
  duration: number;
  /** The store's error when the call failed. */
  error?: unknown;
}

/**
 * What a revocation covered: one token, every token of an identity, or a refresh-token family.
 */
export type RevocationKind = 'token' | 'identity' | 'family';

/**
 * Published on `REVOCATION_CHANNEL` for every revocation the store confirmed.
 */
export interface RevocationMessage {
  kind: RevocationKind;
  jti?: string;
  identity?: string;
  family?: string;
}

/**
 * Published on `REUSE_CHANNEL` when a used refresh token is presented again.
 */
export interface RefreshReuseMessage {
  /** The reused token's payload, without its `csrf` claim (a logged event never shows it). */
  payload: Record<string, unknown>;
  family: string;
}

/**
 * Published on `JWKS_FETCH_CHANNEL` after every fetch of a remote key set or issuer metadata.
 */
export interface JwksFetchMessage {
  uri: string;
  outcome: 'success' | 'error';
  duration: number;
  error?: unknown;
}

/*
 * The Koa context rides on a refused or allowed message as a getter over a #private field: a
 * subscriber reads `message.ctx`, but inspecting, printing or JSON-encoding the message (the natural
 * `log.warn(message)`) never walks into the request's headers, with their token and CSRF values.
 */
class Refused implements RefusedMessage {
  readonly #ctx: unknown;
  constructor(readonly error: Error, ctx: unknown, readonly status: number | undefined) {
    this.#ctx = ctx;
  }

  get ctx(): unknown {
    return this.#ctx;
  }
}

class Allowed implements AllowedMessage {
  readonly #ctx: unknown;
  constructor(readonly payload: Record<string, unknown> | undefined, ctx: unknown) {
    this.#ctx = ctx;
  }

  get ctx(): unknown {
    return this.#ctx;
  }
}

/** Publishes a refusal; free when nobody listens. */
export function publishRefused(error: Error, ctx: unknown, status?: number): void {
  if (refused.hasSubscribers) refused.publish(new Refused(error, ctx, status) satisfies RefusedMessage);
}

/** Publishes a request a guard let through; free when nobody listens. */
export function publishAllowed(payload: Record<string, unknown> | undefined, ctx: unknown): void {
  if (allowed.hasSubscribers) allowed.publish(new Allowed(payload === undefined ? undefined : withoutCsrf(payload), ctx) satisfies AllowedMessage);
}

/** Publishes a failed store call (and notes the outage for the warning); free when nobody listens. */
export function publishStoreError(error: unknown, operation: string): void {
  noteStoreFailure(error, operation, storeError.hasSubscribers);
  if (storeError.hasSubscribers) storeError.publish({ error, operation } satisfies StoreErrorMessage);
}

/** The clock of a store call: `-1` (no reading taken) when nobody times store calls. */
export function storeCallStart(): number {
  return storeCall.hasSubscribers ? performance.now() : -1;
}

/** Publishes a settled store call begun at `start` (from `storeCallStart()`). */
export function publishStoreCall(operation: string, start: number, error?: unknown): void {
  if (start < 0 || !storeCall.hasSubscribers) return;
  const message: StoreCallMessage = { operation, duration: (performance.now() - start) / 1000 };
  if (error !== undefined) message.error = error;
  storeCall.publish(message);
}

/** Publishes a revocation; free when nobody listens. */
export function publishRevocation(message: RevocationMessage): void {
  if (revocation.hasSubscribers) revocation.publish(message);
}

/** Publishes a detected refresh-token reuse; free when nobody listens. */
export function publishRefreshReuse(payload: Record<string, unknown>, family: string): void {
  if (reuse.hasSubscribers) reuse.publish({ payload: withoutCsrf(payload), family } satisfies RefreshReuseMessage);
}

/** Whether anyone times key set fetches (so a fetch reads the clock only then). */
export function jwksFetchObserved(): boolean {
  return jwksFetch.hasSubscribers;
}

/** Publishes a settled key set fetch. */
export function publishJwksFetch(message: JwksFetchMessage): void {
  if (jwksFetch.hasSubscribers) jwksFetch.publish(message);
}
