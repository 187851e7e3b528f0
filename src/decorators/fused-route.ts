/**
 * A guarded route's guard shares a @koa/router layer with the function after it. @koa/router
 * composes a matched route's middleware on every request (koa-compose flattens the list, one
 * `concat` per middleware, and each function adds a dispatch): one function fewer saves ~2 100
 * instructions per request on Node 20 and 24, about a quarter of what the guard adds to an open
 * route (bench/README.md).
 *
 * The route is registered exactly as routing-controllers (and any code that wraps its driver)
 * builds it, the guard a middleware in front; afterwards, in the route's own list of functions, the
 * guard and its successor become one function that calls the guard with "run the successor" as
 * its `next`. koa-compose would run them in that same order with those same arguments, so nothing
 * moves: whatever the successor is (routing-controllers' handler, a `@UseBefore` of the method,
 * `@Authorized()`'s checker, a middleware another library added), it runs after the guard, and
 * only if the guard calls `next`. A router whose layers this cannot read keeps them as they are.
 */
import type * as RoutingControllers from 'routing-controllers';

type Module = typeof RoutingControllers;
type Middleware = (ctx: unknown, next: () => unknown) => unknown;
interface RouterLayers {
  stack?: Array<{ stack?: unknown }>;
}

/** The middlewares the route hooks put first on a route (guards, the open route's request context): the ones that may be fused. */
const LEADING = new WeakSet<Function>();
const PATCHED = Symbol.for('koa-jwt-extended:fused-route');

/** Marks `middleware` as one the route hooks put first on a route. @example leadingMiddleware(guard.middlewareFor(C, 'm', false)) */
export function leadingMiddleware<T extends Function>(middleware: T): T {
  LEADING.add(middleware);
  return middleware;
}

/**
 * `leading` with `successor` as the rest of its chain: koa-compose's order and arguments, and its
 * `next()`, which always returns a promise (a synchronous throw of the successor becomes a
 * rejection, a plain value a resolved promise), so the guard answers what escapes as it did.
 */
function fused(leading: Middleware, successor: Middleware): Middleware {
  return function fusedGuard(ctx, next) {
    return leading(ctx, () => {
      try {
        return Promise.resolve(successor(ctx, next));
      } catch (error) {
        return Promise.reject(error);
      }
    });
  };
}

/** Fuses each leading middleware with its successor in the layers from `from` on. */
function fuseLayers(router: unknown, from: number): void {
  const layers = (router as RouterLayers | undefined)?.stack;
  if (!Array.isArray(layers)) return;
  for (let index = from; index < layers.length; index += 1) {
    const stack = layers[index]?.stack;
    if (!Array.isArray(stack)) continue;
    for (let i = 0; i < stack.length - 1; i += 1) {
      const leading: unknown = stack[i];
      const successor: unknown = stack[i + 1];
      if (typeof leading === 'function' && LEADING.has(leading) && typeof successor === 'function') {
        stack.splice(i, 2, fused(leading as Middleware, successor as Middleware));
      }
    }
  }
}

/**
 * Makes routing-controllers' Koa driver fuse each route's leading middleware with the function
 * after it, once the route is registered (once per driver class).
 *
 * @example fuseLeadingMiddleware(routingControllers('the route hooks'))
 */
export function fuseLeadingMiddleware(module: Module): void {
  const prototype = module.KoaDriver?.prototype as unknown as (Record<symbol, unknown> & { registerAction: (...args: unknown[]) => unknown }) | undefined;
  if (prototype === undefined || Object.prototype.hasOwnProperty.call(prototype, PATCHED) || typeof prototype.registerAction !== 'function') return;
  const register = prototype.registerAction;
  Object.defineProperty(prototype, PATCHED, { value: true });
  prototype.registerAction = function registerAction(this: { router?: RouterLayers }, ...args: unknown[]): unknown {
    const before = Array.isArray(this.router?.stack) ? this.router.stack.length : 0;
    const result = register.apply(this, args);
    fuseLayers(this.router, before);
    return result;
  };
}
