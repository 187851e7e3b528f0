/**
 * Entering an AsyncLocalStorage store for one call, at the cost each Node's implementation allows.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';

/**
 * Whether AsyncLocalStorage is built on AsyncContextFrame (Node 24's default, Node 22 with
 * `--experimental-async-context-frame`). Node 20 and 22 propagate stores through async_hooks, and
 * that implementation has `_propagate` (its init hook); only the cost below depends on this.
 */
const ON_CONTEXT_FRAME = typeof (AsyncLocalStorage.prototype as { _propagate?: unknown })._propagate !== 'function';

/** The type async_hooks listeners see for the resource {@link runWithStore} makes on AsyncContextFrame. */
const RESOURCE_TYPE = 'KOA_JWT_EXTENDED_CONTEXT';

function enter<S, T>(storage: AsyncLocalStorage<S>, store: S, fn: () => T): T {
  storage.enterWith(store);
  return fn();
}

/**
 * What `storage.run(store, fn)` does: `fn`, and every async resource and promise it creates, sees
 * `store` (and every other storage's store as the caller saw it), and once `fn` returns or throws
 * the caller's context is what it was. On AsyncContextFrame, `run()` builds two frames, each a copy
 * of the current one (in, and back out): ~3 700 instructions a call on Node 24. Here an
 * AsyncResource made in the caller's context holds the caller's frame: entering `store` in its
 * scope copies once, and the scope's end puts the caller's own frame back (~1 700; the guard runs
 * this once a request). `enterWith()` never runs outside that scope, so nothing is left on the
 * caller's async resource (the keep-alive leak of 0.2). Elsewhere `run()`, cheaper there (one
 * property set on the current resource and set back).
 *
 * Two things differ from `run()` on AsyncContextFrame, both visible to other code only: the caller's
 * frame comes back whole, so another storage's `enterWith()` made synchronously inside `fn` ends
 * with the call too (`run()` carries it out to the caller); and inside `fn`, `executionAsyncId()` is
 * the resource's, which async_hooks listeners see as a `KOA_JWT_EXTENDED_CONTEXT` resource.
 *
 * @example runWithStore(requestContext, context, next)
 */
export function runWithStore<S, T>(storage: AsyncLocalStorage<S>, store: S, fn: () => T): T {
  if (!ON_CONTEXT_FRAME) return storage.run(store, fn);
  return new AsyncResource(RESOURCE_TYPE).runInAsyncScope(enter, undefined, storage, store, fn) as T;
}
