/**
 * Every call the library makes into a revocation store goes through here: a failure is
 * published on `koa-jwt-extended:store-error` (custom stores included) and wrapped in an error
 * whose message says the root cause, with the store's own error kept as `cause`.
 */
import { publishStoreCall, publishStoreError, storeCallStart } from './diagnostics';
import { rootCauseMessage } from './root-cause';
import { noteStoreSuccess } from './store-health';
import { StoreUnavailableError, TokenStoreError } from './errors';

export { rootCauseMessage };

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
  const start = storeCallStart();
  let result: T;
  try {
    result = await call();
  } catch (error) {
    publishStoreCall(operation, start, error);
    publishStoreError(error, operation);
    throw wrap(error);
  }
  publishStoreCall(operation, start);
  noteStoreSuccess();
  return result;
}

/** A failed store call inside a request: fail closed with a 503 that keeps the cause. */
export const unavailable = (error: unknown): StoreUnavailableError => new StoreUnavailableError(error);
