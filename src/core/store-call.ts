/**
 * Every call the library makes into a revocation store goes through here: a failure is
 * published on `koa-jwt-extended:store-error` (custom stores included) and wrapped in an error
 * whose message says the root cause, with the store's own error kept as `cause`.
 *
 * A store is a plug-in: what it answers is checked before it decides anything. A
 * synchronous method (`peek`, `peekState`) that returns a promise or thenable, and an
 * answer of the wrong shape, are store failures (503), never "allowed"; a promise handed
 * back where none was expected is settled here so its rejection is never unhandled.
 */
import { publishStoreCall, publishStoreError, storeCallStart } from './diagnostics';
import { rootCauseMessage } from './root-cause';
import { noteStoreSuccess } from './store-health';
import { StoreUnavailableError, TokenStoreError } from './errors';
import type { StoredToken, TokenQuery, TokenState, TokenStore } from '../store/token-store';

export { rootCauseMessage };

/** A `TokenStoreError` for `what`, saying its root cause. @example storeFailure('revoke the token', error) */
export function storeFailure(what: string, cause: unknown): TokenStoreError {
  return new TokenStoreError(`${what} (${rootCauseMessage(cause)})`, cause);
}

/** What a store answered that breaks its interface (the cause of the 503). */
export class StoreContractError extends Error {
  constructor(operation: string, what: string) {
    super(`the store's ${operation}() ${what}`);
    this.name = 'StoreContractError';
  }
}

/**
 * Runs one store call (which may throw synchronously, as a custom `peek` might), publishing
 * any failure under `operation` and rethrowing it as `wrap(error)`. With `isValid`, an
 * answer it refuses is a failure too.
 *
 * @example const record = await callStore('find', () => store.find(jti), (e) => new StoreUnavailableError(e), isRecordAnswer)
 */
export async function callStore<T>(
  operation: string, call: () => T | Promise<T>, wrap: (error: unknown) => Error, isValid?: (answer: unknown) => boolean,
): Promise<T> {
  const start = storeCallStart();
  let answer: T;
  try {
    answer = await call();
    if (isValid !== undefined && !isValid(answer)) throw new StoreContractError(operation, `answered ${describeAnswer(answer)}`);
  } catch (error) {
    publishStoreCall(operation, start, error);
    publishStoreError(error, operation);
    throw wrap(error);
  }
  publishStoreCall(operation, start);
  noteStoreSuccess();
  return answer;
}

/** A failed store call inside a request: fail closed with a 503 that keeps the cause. */
export const unavailable = (error: unknown): StoreUnavailableError => new StoreUnavailableError(error);

/**
 * `store.peek(jti)` checked: the record, or `undefined` (then ask `find()`). A throw, a
 * promise or a record of the wrong shape throws `StoreUnavailableError` (published).
 *
 * @example const known = peekRecord(store, jti) ?? await callStore('find', () => store.find(jti), unavailable, isRecordAnswer)
 */
export function peekRecord(store: TokenStore, jti: string): StoredToken | undefined {
  let answer: unknown;
  try {
    answer = store.peek?.(jti);
  } catch (error) {
    return failedPeek(error);
  }
  return answer === undefined ? undefined : (checkedPeek('peek', answer, isRecordAnswer) as StoredToken);
}

/**
 * `store.peekState(query)` checked as `peekRecord` checks `peek`. On the hot path: no
 * closure, no promise; a handful of type checks on the answer.
 *
 * @example const state = peekTokenState(store, query) ?? await callStore('inspect', () => store.inspect!(query), unavailable, isTokenStateAnswer)
 */
export function peekTokenState(store: TokenStore, query: TokenQuery): TokenState | undefined {
  let answer: unknown;
  try {
    answer = store.peekState?.(query);
  } catch (error) {
    return failedPeek(error);
  }
  return answer === undefined ? undefined : (checkedPeek('peekState', answer, isTokenStateAnswer) as TokenState);
}

function checkedPeek(operation: string, answer: unknown, isValid: (answer: unknown) => boolean): unknown {
  let thenable = false;
  try {
    thenable = isThenable(answer);
  } catch (error) {
    return failedPeek(error); // a `then` getter that throws
  }
  if (thenable) {
    settleQuietly(answer as PromiseLike<unknown>);
    return failedPeek(new StoreContractError(operation, 'is synchronous but returned a promise or thenable'), operation);
  }
  if (!isValid(answer)) return failedPeek(new StoreContractError(operation, `answered ${describeAnswer(answer)}`), operation);
  return answer;
}

function failedPeek(error: unknown, operation = 'peek'): never {
  publishStoreError(error, operation);
  throw unavailable(error);
}

function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Attaches handlers to a promise nobody will await, so its rejection is not an unhandled rejection. */
function settleQuietly(thenable: PromiseLike<unknown>): void {
  const ignore = (): undefined => undefined;
  try {
    Promise.resolve(thenable).then(ignore, ignore);
  } catch {
    // Promise.resolve reads `then` again; a getter that throws the second time is handled as a rejection
  }
}

/** A record as the pipeline reads it: `undefined`, or `{ token: object, revoked: boolean }`. */
export function isRecordAnswer(answer: unknown): boolean {
  if (answer === undefined) return true;
  const record = answer as Partial<StoredToken> | null;
  return typeof record === 'object' && record !== null && typeof record.revoked === 'boolean'
    && typeof record.token === 'object' && record.token !== null;
}

/** A `TokenState`: a record as `isRecordAnswer`, a cut-off generation (a whole number >= 0), a family or `undefined`. */
export function isTokenStateAnswer(answer: unknown): boolean {
  const state = answer as Partial<TokenState> | null;
  if (typeof state !== 'object' || state === null || !isRecordAnswer(state.record)) return false;
  if (typeof state.cutoff !== 'number' || !Number.isSafeInteger(state.cutoff) || state.cutoff < 0) return false;
  const family = state.family;
  if (family === undefined) return true;
  return typeof family === 'object' && family !== null && typeof family.revoked === 'boolean'
    && (family.usedAt === undefined || (typeof family.usedAt === 'number' && Number.isFinite(family.usedAt)));
}

/** A cut-off generation: a whole number >= 0. */
export function isCutoffAnswer(answer: unknown): boolean {
  return typeof answer === 'number' && Number.isSafeInteger(answer) && answer >= 0;
}

/** A `RefreshTokenUseOutcome`: one of the four outcomes, `retry` with its string answer. */
export function isRefreshUseAnswer(answer: unknown): boolean {
  const use = answer as { outcome?: unknown; answer?: unknown } | null;
  if (typeof use !== 'object' || use === null) return false;
  if (use.outcome === 'retry') return typeof use.answer === 'string';
  return use.outcome === 'rotated' || use.outcome === 'reused' || use.outcome === 'revoked';
}

/** A short description of a wrong answer for the log: its type, never its content (it may hold a token). */
function describeAnswer(answer: unknown): string {
  if (answer === null) return 'null';
  if (Array.isArray(answer)) return 'an array';
  if (typeof answer === 'object') return 'an object of the wrong shape';
  return `a ${typeof answer}`;
}
