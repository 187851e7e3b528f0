/**
 * What the Koa door tells the decorators without importing them: the middlewares made by
 * guards (a `@UseBefore(jwtRequired())` also covers a route's `@Identity()`), and the work
 * to do before a direct call of a controller method (the decorators register it).
 */

/** Middlewares made by guards (`jwtRequired()`), read by the decorators' route hooks. */
export const GUARD_MIDDLEWARES = new WeakSet<Function>();

const beforeDirectCalls: Array<() => void> = [];

/**
 * Registers work the testing kit runs before it calls controller methods directly.
 *
 * @example onDirectCall(wrapGuardedRoutes)
 */
export function onDirectCall(hook: () => void): void {
  beforeDirectCalls.push(hook);
}

/** Runs the registered hooks (none in an app without decorators). @example prepareDirectCalls() */
export function prepareDirectCalls(): void {
  for (const hook of beforeDirectCalls) hook();
}
