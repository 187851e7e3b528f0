/**
 * Every call the library makes into a revocation store goes through here: a failure is
 * published on `koa-jwt-extended:store-error` (custom stores included) and wrapped in an error
 * whose message says the root cause, with the store's own error kept as `cause`.
 */
import { publishStoreError } from './diagnostics';
import { StoreUnavailableError, TokenStoreError } from './errors';

/** The message of the innermost `cause` (the root of a chain of wrapped errors). */
export function rootCauseMessage(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error && current.cause !== undefined; depth += 1) current = current.cause;
  if (current instanceof Error) return `${current.name}: ${current.message}`;
  return String(current);
}

/** A `TokenStoreError` for `what`, saying its root cause. @example storeFailure('revoke the token', error) */
export function storeFailure(what: string, cause: unknown): TokenStoreError {
  return new TokenStoreError(`${what} (${rootCauseMessage(cause)})`, cause);
}

/**
 * Runs one store call (which may throw synchronously, as a custom `peek` might), publishing
 * any failure under `operation` and rethrowing it as `wrap(error)`.
 *
 * @example const record = await callStore('find', () => store.find(jti), (e) => new StoreUnavailableError(e))
 */
export async function callStore<T>(operation: string, call: () => T | Promise<T>, wrap: (error: unknown) => Error): Promise<T> {
  try {
    return await call();
  } catch (error) {
    publishStoreError(error, operation);
    throw wrap(error);
  }
}

/** A failed store call inside a request: fail closed with a 503 that keeps the cause. */
export const unavailable = (error: unknown): StoreUnavailableError => new StoreUnavailableError(error);
