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
  operation: string, call: () => T | Promise<T>, wrap: (error: unknown) => Error, isValid?: (answer: unknown) => boolean, timeoutMs?: number,
): Promise<T> {
  const start = storeCallStart();
  let answer: T;
  try {
    answer = timeoutMs === undefined ? await call() : await withinTime(operation, call, timeoutMs);
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

/** The store did not answer in time (`revocation.storeTimeoutMs`). */
export class StoreTimeoutError extends Error {
  constructor(operation: string, timeoutMs: number) {
    super(`the store's ${operation}() did not answer within ${timeoutMs} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/** `call()`'s answer, or a `StoreTimeoutError` after `timeoutMs` (a late answer is dropped, a late rejection handled). */
function withinTime<T>(operation: string, call: () => T | Promise<T>, timeoutMs: number): Promise<T> {
  const answer = Promise.resolve(call());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(operation, timeoutMs)), timeoutMs);
    timer.unref();
  });
  return Promise.race([answer, late]).finally(() => {
    clearTimeout(timer);
    answer.catch(() => undefined); // answered after the timeout: nobody awaits it any more
  });
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
  let peek: TokenStore['peekState'];
  try {
    peek = store.peekState; // a getter that throws (a lazily connected store) is a 503 too
    answer = peek?.call(store, query);
  } catch (error) {
    return failedPeek(error);
  }
  if (answer === undefined) return undefined;
  // a TieredTokenStore itself, with its own method (its tier holds only what its strict parsers built): nothing to check
  if (peek === trustedPeek && builtInStores.has(store)) return answer as TokenState;
  return checkedPeek('peekState', answer, isTokenStateAnswer, query) as TokenState;
}

/** `TieredTokenStore.prototype.peekState` (the prototype's own function: a subclass's override is not it). */
let trustedPeek: unknown;

/**
 * The instances of this package's stores made by their own class (never a subclass, a Proxy of
 * one, nor an object borrowing their methods): filled by their constructors.
 */
const builtInStores = new WeakSet<object>();

/**
 * Marks the tiered store's `peekState` as the one whose answers need no shape check (the request
 * hot path), when called on a built-in store. Only this package's tiered store calls it, once,
 * with its prototype's own method.
 *
 * @internal
 */
export function trustPeekState(peekState: object): void {
  trustedPeek = peekState;
}

/**
 * Registers `store` as a built-in store, when `made` (the constructor's `new.target`) is its own
 * class `own`: a subclass may change what it stores or where, so it is not one.
 *
 * @internal
 */
export function registerBuiltInStore(store: object, made: unknown, own: unknown): void {
  if (made === own) builtInStores.add(store);
}

/**
 * Whether `store` is one of this package's stores as made by its own class: then it writes a
 * rotation's `records` into the same place as its `add()` (or leaves them to `add()`), and a
 * rotation may hand them to it (a store composed of several, whose `useRefreshToken` calls a
 * built-in store's, keeps its records elsewhere: they are stored with its own `add()`).
 */
export function isBuiltInStore(store: object): boolean {
  return builtInStores.has(store);
}

function checkedPeek(operation: string, answer: unknown, isValid: (answer: unknown, query?: TokenQuery) => boolean, query?: TokenQuery): unknown {
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
  let valid: boolean;
  try {
    valid = isValid(answer, query);
  } catch (error) {
    return failedPeek(error, operation); // a getter of the answer that throws
  }
  if (!valid) return failedPeek(new StoreContractError(operation, `answered ${describeAnswer(answer)}`), operation);
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

/** Whether `value` is a plain object (not null, not an array) whose own keys are all in `allowed`: no field the interface does not define. */
function hasOnlyKeys(value: unknown, allowed: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (!allowed.includes(key)) return false; // for-in: no array allocated on the hot path
  return true;
}

const RECORD_KEYS = ['token', 'revoked'] as const;
const STATE_KEYS = ['record', 'cutoff', 'family'] as const;
const FAMILY_KEYS = ['revoked', 'usedAt'] as const;

/**
 * A record as the pipeline reads it: `undefined`, or exactly `{ token: object, revoked: boolean }`.
 * A field the interface does not define (`revokedAt`, `status`) is refused: it may be what the
 * store meant, and the pipeline would not read it.
 */
export function isRecordAnswer(answer: unknown): boolean {
  if (answer === undefined) return true;
  if (!hasOnlyKeys(answer, RECORD_KEYS)) return false;
  const token = answer.token;
  return typeof answer.revoked === 'boolean' && typeof token === 'object' && token !== null && !Array.isArray(token);
}

/** A list of records (`findByIdentity`, `findAll`): an array of `isRecordAnswer` records, none `undefined`. */
export function isRecordListAnswer(answer: unknown): boolean {
  return Array.isArray(answer) && answer.every((record) => record !== undefined && isRecordAnswer(record));
}

/**
 * A `TokenState`: a record as `isRecordAnswer`, a cut-off generation (a whole number >= 0), and a
 * family state exactly when `query` names a family (a store that answers none for a family
 * would make family revocation and reuse detection invisible); no other field.
 */
export function isTokenStateAnswer(answer: unknown, query?: TokenQuery): boolean {
  if (!hasOnlyKeys(answer, STATE_KEYS) || !isRecordAnswer(answer.record) || !isCutoffAnswer(answer.cutoff)) return false;
  const family = answer.family;
  if (query !== undefined && (family === undefined) !== (query.family === undefined)) return false;
  if (family === undefined) return true;
  if (!hasOnlyKeys(family, FAMILY_KEYS) || typeof family.revoked !== 'boolean') return false;
  const usedAt = family.usedAt;
  return usedAt === undefined || (typeof usedAt === 'number' && Number.isFinite(usedAt) && usedAt >= 0);
}

/** A cut-off generation: a whole number >= 0. */
export function isCutoffAnswer(answer: unknown): boolean {
  return typeof answer === 'number' && Number.isSafeInteger(answer) && answer >= 0;
}

/** A `RefreshTokenUseOutcome`: one of the four outcomes, `retry` with its string answer, `rotated` perhaps `recorded: true`, no other field. */
export function isRefreshUseAnswer(answer: unknown): boolean {
  if (!hasOnlyKeys(answer, ['outcome', 'answer', 'recorded'])) return false;
  if (answer.outcome === 'rotated') return answer.answer === undefined && (answer.recorded === undefined || answer.recorded === true);
  if (answer.recorded !== undefined) return false;
  if (answer.outcome === 'retry') return typeof answer.answer === 'string';
  return (answer.outcome === 'reused' || answer.outcome === 'revoked') && answer.answer === undefined;
}

/** A short description of a wrong answer for the log: its type, never its content (it may hold a token). */
function describeAnswer(answer: unknown): string {
  if (answer === null) return 'null';
  if (Array.isArray(answer)) return 'an array';
  if (typeof answer === 'object') return 'an object of the wrong shape';
  return `a ${typeof answer}`;
}
