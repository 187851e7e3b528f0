/**
 * Observability through `node:diagnostics_channel`, the Node ecosystem's way for a
 * library to publish events without a logging dependency (undici, fastify do the same).
 * Publishers check `hasSubscribers` first, so an unobserved channel costs nothing.
 *
 * @example
 * import diagnostics from 'node:diagnostics_channel';
 * diagnostics.subscribe('koa-jwt-extended:store-error', ({ error, operation }) => log.warn({ error, operation }));
 */
import diagnostics from 'node:diagnostics_channel';

/** `{ error, ctx }` for every refused request (the `JwtError` and the Koa context, if any). */
export const REFUSED_CHANNEL = 'koa-jwt-extended:refused';
/** `{ error, operation }` whenever a call into the revocation store fails (the store's own error). */
export const STORE_ERROR_CHANNEL = 'koa-jwt-extended:store-error';

const refused = diagnostics.channel(REFUSED_CHANNEL);
const storeError = diagnostics.channel(STORE_ERROR_CHANNEL);

export interface RefusedMessage {
  error: Error;
  ctx: unknown;
}

export interface StoreErrorMessage {
  error: unknown;
  /** The store method or library step that failed, e.g. `'find'`, `'add'`, `'subscribe'`. */
  operation: string;
}

/** Publishes a refusal; free when nobody listens. */
export function publishRefused(error: Error, ctx: unknown): void {
  if (refused.hasSubscribers) refused.publish({ error, ctx } satisfies RefusedMessage);
}

/** Publishes a failed store call; free when nobody listens. */
export function publishStoreError(error: unknown, operation: string): void {
  if (storeError.hasSubscribers) storeError.publish({ error, operation } satisfies StoreErrorMessage);
}
