/**
 * Direct calls of guarded methods: the function installed for each guarded route method (on the
 * prototype it is reached through), which checks a call the request's context does not cover
 * through the route's guard, whatever its receiver, and fills in the injected parameters.
 */
import type { Context } from 'koa';
import { JwtError, JwtUsageError } from '../core/errors';
import { JwtHttpError } from '../core/http-error';
import { csrfRequired } from '../core/csrf';
import { newRefreshScope, owesReuse, presentRefreshToken, reuseRefusal, runInRefreshScope, tracksRefreshToken } from '../core/refresh-scope';
import { JwtManager } from '../core/manager';
import { currentContext, JwtRequestContext, runInContext } from '../koa/context';
import { Guard, refusal, RouteProof } from '../koa/guard';
import { setDpopRefusalHeaders } from '../koa/dpop';
import { effectiveGuard, ownerOf, routeCount, routeTypes } from './routes';

export type InjectedKind = 'identity' | 'claims' | 'user';
/** Per class prototype and method: which parameters the method wrapper fills in on a direct call. */
export const INJECTED = new WeakMap<object, Map<string | symbol, Injected[]>>();

interface Injected {
  index: number;
  kind: InjectedKind;
}

export function injectedValue(kind: InjectedKind, context: JwtRequestContext | undefined): unknown {
  const payload = context?.payload;
  if (kind === 'claims') return payload;
  if (kind === 'user') {
    // a route built before configure(), or a direct call: refused here rather than a silent undefined
    if (JwtManager.instance.userLookupLoader === undefined) throw new JwtUsageError('@CurrentJwtUser() needs a userLookupLoader: JwtManager.configure({ userLookupLoader })');
    return context?.user;
  }
  return payload?.[JwtManager.instance.config.identityClaim];
}

const NOTHING_INJECTED: readonly Injected[] = Object.freeze([]);

/**
 * What each guarded function we installed wraps: the prototype its parameters were declared on
 * (`@Identity()` and friends, routing-controllers' params), and the function it runs. A method is
 * never wrapped twice.
 */
interface Wrapped {
  declaring: object;
  /** The function the wrapper runs: fixed for a declared method, looked up at call time for an inherited one. */
  body: () => Function;
}
const WRAPPED = new WeakMap<Function, Wrapped>();

/** The function a (possibly guarded) function runs in the end: itself unless it is one of our wrappers. */
function unwrapped(fn: unknown): Function {
  return WRAPPED.get(fn as Function)?.body() ?? (fn as Function);
}

/** A refusal as routing-controllers sends it (the loader's status and body); anything else unchanged. */
export async function toHttpError(error: unknown, ctx: Context | undefined): Promise<unknown> {
  if (!(error instanceof JwtError)) return error;
  if (ctx !== undefined) setDpopRefusalHeaders(ctx, error);
  const response = await refusal(error, JwtManager.instance, ctx);
  return new JwtHttpError(response.status, response.body, error);
}

/** A call the current request's context does not cover: checked as the method's own route would be, then run in its context. */
async function guardedCall(self: unknown, original: Function, guard: Guard, target: Function, method: string | symbol, args: unknown[], injected: readonly Injected[]) {
  const current = currentContext();
  const ctx = current?.ctx as Context | undefined;
  let context: JwtRequestContext;
  try {
    const manager = JwtManager.instance;
    context = ctx === undefined
      ? await guard.authorizeToken(current?.token, manager)
      : await guard.authenticate(ctx, manager, directCallMethod(target, method, ctx.method));
  } catch (error) {
    throw await toHttpError(error, ctx);
  }
  fill(args, injected, context);
  const manager = JwtManager.instance;
  if (guard.skipRevocationCheck || !tracksRefreshToken(manager.config, context.payload)) return runInContext(context, () => original.apply(self, args));
  // a refresh token: a used one yields only its pair (rotateRefreshToken() inside the call), nothing else leaves the call
  const scope = newRefreshScope(context);
  let result: unknown;
  try {
    await presentRefreshToken(manager.config, scope, context.payload!, guard);
    result = await runInRefreshScope(scope, () => runInContext(context, () => original.apply(self, args)));
  } catch (error) {
    if (!owesReuse(scope, true)) throw await toHttpError(error, ctx);
  }
  if (owesReuse(scope)) throw await toHttpError(await reuseRefusal(manager.config, scope), ctx);
  return result;
}

/** Puts the injected parameters' values in place (`args` is the wrapper's own rest array). */
function fill(args: unknown[], injected: readonly Injected[], context: JwtRequestContext): void {
  for (const { index, kind } of injected) args[index] = injectedValue(kind, context);
}

/** Route types per class and method (read on direct calls of cookie-token requests), as of `routeCount()` routes. */
let ROUTE_TYPES = new WeakMap<Function, Map<string | symbol, readonly string[]>>();
let routeTypesAt = 0;

/**
 * The HTTP method a direct call of `method` is checked as, for CSRF (0.2's rule): one of
 * its routes' methods that needs CSRF if any does (`@All()` serves them all), else its
 * first route's method; a method with no route is checked as the current request.
 */
function directCallMethod(target: Function, method: string | symbol, requestMethod: string): string {
  if (routeTypesAt !== routeCount()) {
    ROUTE_TYPES = new WeakMap(); // a route declared since (`@Post()` applied by hand) may change the answer
    routeTypesAt = routeCount();
  }
  let byMethod = ROUTE_TYPES.get(target);
  if (!byMethod) ROUTE_TYPES.set(target, (byMethod = new Map()));
  let types = byMethod.get(method);
  if (types === undefined) byMethod.set(method, (types = Object.freeze(routeTypes(target, method).map((t) => t.toUpperCase()))));
  if (types.length === 0) return requestMethod;
  const config = JwtManager.instance.config;
  if (types.includes('ALL')) return config.csrfMethods[0] ?? 'GET';
  return types.find((type) => csrfRequired(config, type)) ?? types[0];
}

/**
 * Whether the request's context already holds what `guard` would decide for a call of
 * `target`'s `method`: the same guard checked this request, and CSRF cannot differ (the
 * token did not come from a cookie, or CSRF was checked, or this is the call of the route
 * that guard served, whose CSRF was decided by the request's own method, or the method's
 * routes do not need it). A routed call is such a call; so is a `super` call.
 */
function contextCovers(current: JwtRequestContext, guard: Guard, target: Function, method: string | symbol): boolean {
  if (current.guard !== guard) return false;
  if (current.location !== 'cookies' || current.csrfChecked === true) return true;
  if (current.route !== undefined && current.route.method === method && current.route.target === target) return true;
  return !csrfRequired(JwtManager.instance.config, directCallMethod(target, method, (current.ctx as Context).method));
}

/** Per class: the guarded routes reported as no method (a field holding a function, an accessor). */
const NOT_METHODS = new WeakMap<Function, Set<string | symbol>>();

/**
 * The misuse of a guarded route that is no method on the prototype: `@Get('/f') field = () => ...`
 * under a class guard is an instance property no wrapper can reach, so a direct call would run
 * unchecked. Reported once, when it is found (the route's declaration); the class is remembered
 * so the later passes over every class (`configure()`, `withToken()`) skip it instead of failing
 * for every unrelated call.
 */
function notAMethod(target: Function, method: string | symbol): JwtUsageError {
  let methods = NOT_METHODS.get(target);
  if (!methods) NOT_METHODS.set(target, (methods = new Set()));
  methods.add(method);
  const name = String(method);
  return new JwtUsageError(
    `${target.name}.${name} is not a method, and a guard covers its route: declare it as a method (\`${name}() { ... }\`), ` +
      `not a field holding a function (\`${name} = () => ...\`) or an accessor, so a direct call of it can be checked`,
  );
}

/** Whether `target`'s `method` (or an ancestor's) was reported as no method already. */
export function reportedNotAMethod(target: Function, method: string | symbol): boolean {
  for (let c: unknown = target; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (NOT_METHODS.get(c as Function)?.has(method)) return true;
  }
  return false;
}

/**
 * Makes sure the function called for `target`'s `method` is wrapped; returns the prototype the
 * method was declared on (its parameters are recorded there). One wrapper on a base class serves
 * every subclass whose rules give the route the base's own guard. A subclass whose rules give it
 * another guard (`@JwtRequired() class Sub extends OpenBase {}`) gets a wrapper of its own on its
 * prototype: a function object cannot tell which class it was reached through, so the one reached
 * through `Sub` (`Sub.prototype.secret`, `sub.secret` detached, bound or copied) must be another
 * function, whose foreign receivers get `Sub`'s guard, while `OpenBase`'s stays open.
 */
export function wrapMethod(target: Function, method: string | symbol): object {
  let owner: object;
  try {
    owner = ownerOf(target, method);
  } catch {
    throw notAMethod(target, method);
  }
  const descriptor = Object.getOwnPropertyDescriptor(owner, method)!;
  if (typeof descriptor.value !== 'function') throw notAMethod(target, method);
  if (!WRAPPED.has(descriptor.value)) {
    const original = descriptor.value as Function;
    descriptor.value = guardFunction(owner, method, { declaring: owner, body: () => original });
    Object.defineProperty(owner, method, descriptor);
  }
  const { declaring } = WRAPPED.get(descriptor.value)!;
  const ownerClass = (owner as { constructor: Function }).constructor;
  if (owner !== target.prototype && effectiveGuard(target, method) !== effectiveGuard(ownerClass, method)) {
    // target.prototype has no own `method` (the owner is an ancestor); a class decorator runs after the class body, so nothing redefines it
    const parent = Object.getPrototypeOf(target.prototype) as object;
    const inherited = guardFunction(target.prototype as object, method, { declaring, body: () => unwrapped(Reflect.get(parent, method)) });
    Object.defineProperty(target.prototype, method, { value: inherited, writable: true, configurable: true, enumerable: false });
  }
  return declaring;
}

/**
 * The class whose route rules decide a call on `self` of the function installed on `owner`:
 * the receiver's own class when `self` is an instance of the owner's class (a subclass may
 * guard the route its own way), else none (a foreign receiver: `.call({})`, a listener's
 * emitter, a timer, a mixin's class), and the owner's class decides.
 */
function receiverClass(self: unknown, owner: object): Function | undefined {
  if (typeof self !== 'object' || self === null || !Object.prototype.isPrototypeOf.call(owner, self)) return undefined;
  const proto = Object.getPrototypeOf(self) as { constructor?: unknown };
  const own = Object.prototype.hasOwnProperty.call(proto, 'constructor') ? proto.constructor : undefined;
  return typeof own === 'function' && own.prototype === proto ? own : undefined;
}

/** The guarded function installed on `owner` (the prototype it is reached through) for `method`. */
function guardFunction(owner: object, method: string | symbol, wrapped: Wrapped): Function {
  const ownerClass = (owner as { constructor: Function }).constructor;
  // not async: when its own route middleware already checked the request, the call costs nothing extra
  const guarded = function guarded(this: unknown, ...args: unknown[]): unknown {
    const original = wrapped.body();
    const target = receiverClass(this, owner) ?? ownerClass;
    // the receiver's class rules (a subclass's @JwtOptional() override relaxes); never less than none: the owner class's guard
    const guard = effectiveGuard(target, method) ?? effectiveGuard(ownerClass, method);
    const proof = args[args.length - 1];
    if (proof instanceof RouteProof) {
      args.pop(); // our own rest array: no copy
      if (proof.guard === guard) return original.apply(this, args); // requestContext: false, called by its route
    }
    if (!guard) return original.apply(this, args);
    const injected = INJECTED.get(wrapped.declaring)?.get(method) ?? NOTHING_INJECTED;
    const current = currentContext();
    if (current?.ctx !== undefined && contextCovers(current, guard, target, method)) {
      fill(args, injected, current);
      return original.apply(this, args);
    }
    return guardedCall(this, original, guard, target, method, args, injected);
  };
  Object.defineProperty(guarded, 'name', { value: wrapped.body().name });
  WRAPPED.set(guarded, wrapped);
  return guarded;
}

/**
 * The guarded function for a method a guard decorator is applied to (`descriptor.value`), or
 * the function itself when it is one of ours already.
 *
 * @example descriptor.value = guardDeclaredMethod(prototype, 'list', descriptor.value)
 */
export function guardDeclaredMethod(prototype: object, method: string | symbol, fn: Function): Function {
  return WRAPPED.has(fn) ? fn : guardFunction(prototype, method, { declaring: prototype, body: () => fn });
}
