/**
 * The decorators record what they mean (a guard per method or class, injected
 * parameters) and wrap the method so a direct call is checked by the same guard.
 * Which guard a route gets is decided in `./routes`; no rule lives here.
 */
import type { Context } from 'koa';
import { JwtError, JwtUsageError } from '../core/errors';
import { JwtHttpError } from '../core/http-error';
import { csrfRequired } from '../core/csrf';
import { newRefreshScope, owesReuse, presentRefreshToken, reuseRefusal, runInRefreshScope, tracksRefreshToken } from '../core/refresh-scope';
import { JwtManager, onConfigure } from '../core/manager';
import type { TokenPayload } from '../core/responses';
import { JwtRequestContext, requestContext, runInRequestScope } from '../koa/context';
import { Guard, GuardOptions, refusal, ROUTE_PROOF, RouteProof } from '../koa/guard';
import { setDpopRefusalHeaders } from '../koa/dpop';
import {
  effectiveGuard, guardCount, INJECTING_PARAMS, installRouteHooks, ownerOf, recordClassGuard, recordMethodGuard, routeMethods, routeTypes, USER_PARAMS,
} from './routes';
import { requireReflectMetadata } from './reflect-metadata';
import { answerEscapedErrors } from './escaped-errors';
import { createParamDecorator, getMetadataArgsStorage, installedRoutingControllers, onRoutingControllersLoad, routingControllers } from './routing-controllers';
import { onDirectCall } from '../koa/marks';

export { JwtHttpError };

type InjectedKind = 'identity' | 'claims' | 'user';
/** Per class prototype and method: which parameters the method wrapper fills in on a direct call. */
const INJECTED = new WeakMap<object, Map<string | symbol, Injected[]>>();

interface Injected {
  index: number;
  kind: InjectedKind;
}

function injectedValue(kind: InjectedKind, context: JwtRequestContext | undefined): unknown {
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

onRoutingControllersLoad((module) => answerEscapedErrors(module, toHttpError));

/** A call the current request's context does not cover: checked as the method's own route would be, then run in its context. */
async function guardedCall(self: unknown, original: Function, guard: Guard, target: Function, method: string | symbol, args: unknown[], injected: readonly Injected[]) {
  const current = requestContext.getStore();
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
  if (guard.skipRevocationCheck || !tracksRefreshToken(manager.config, context.payload)) return requestContext.run(context, () => original.apply(self, args));
  // a refresh token: a used one yields only its pair (rotateRefreshToken() inside the call), nothing else leaves the call
  const scope = newRefreshScope(context);
  let result: unknown;
  try {
    await presentRefreshToken(manager.config, scope, context.payload!, guard);
    result = await runInRefreshScope(scope, () => requestContext.run(context, () => original.apply(self, args)));
  } catch (error) {
    if (!owesReuse(scope)) throw await toHttpError(error, ctx);
  }
  if (owesReuse(scope)) throw await toHttpError(await reuseRefusal(manager.config, scope), ctx);
  return result;
}

/** Puts the injected parameters' values in place (`args` is the wrapper's own rest array). */
function fill(args: unknown[], injected: readonly Injected[], context: JwtRequestContext): void {
  for (const { index, kind } of injected) args[index] = injectedValue(kind, context);
}

/** Route types per class and method (read on direct calls of cookie-token requests). */
const ROUTE_TYPES = new WeakMap<Function, Map<string | symbol, readonly string[]>>();

/**
 * The HTTP method a direct call of `method` is checked as, for CSRF (0.2's rule): one of
 * its routes' methods that needs CSRF if any does (`@All()` serves them all), else its
 * first route's method; a method with no route is checked as the current request.
 */
function directCallMethod(target: Function, method: string | symbol, requestMethod: string): string {
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

/**
 * Makes sure the function called for `target`'s `method` is wrapped; returns the prototype the
 * method was declared on (its parameters are recorded there). One wrapper on a base class serves
 * every subclass whose rules give the route the base's own guard. A subclass whose rules give it
 * another guard (`@JwtRequired() class Sub extends OpenBase {}`) gets a wrapper of its own on its
 * prototype: a function object cannot tell which class it was reached through, so the one reached
 * through `Sub` (`Sub.prototype.secret`, `sub.secret` detached, bound or copied) must be another
 * function, whose foreign receivers get `Sub`'s guard, while `OpenBase`'s stays open.
 */
function wrapMethod(target: Function, method: string | symbol): object {
  const owner = ownerOf(target, method);
  const descriptor = Object.getOwnPropertyDescriptor(owner, method)!;
  if (typeof descriptor.value !== 'function') throw new JwtUsageError(`${target.name}.${String(method)} is not a method`);
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
    const current = requestContext.getStore();
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

/** Makes an open route's request known to the guarded methods its handler calls. */
function openRouteContext(ctx: Context, next: () => Promise<unknown>): Promise<unknown> {
  if (!JwtManager.instance.config.requestContext) return next();
  return runInRequestScope(ctx, next);
}

/** Routes built while the request context is off (or not yet configured) hand their method a proof parameter. */
function routesNeedProof(): boolean {
  return !JwtManager.isConfigured || !JwtManager.instance.config.requestContext;
}

function installHooks(): void {
  installRouteHooks(wrapMethod, openRouteContext, routesNeedProof);
}

/** What `wrapGuardedRoutes()` last saw: controllers, actions and guards declared. */
let wrappedAt = '';

/**
 * Wraps every guarded route method of every known controller, so a direct call is checked
 * even for a class never served (a subclass of a guarded base, called by a unit test).
 * Runs at every `configure()` and in the testing kit's `withToken()`.
 */
export function wrapGuardedRoutes(): void {
  if (installedRoutingControllers() === undefined) return; // a plain Koa app: no controllers to wrap
  installHooks();
  const storage = getMetadataArgsStorage();
  const stamp = `${storage.controllers.length}:${storage.actions.length}:${guardCount()}`;
  if (stamp === wrappedAt) return; // nothing declared since the last pass
  for (const { target } of storage.controllers) {
    for (const route of routeMethods(target)) if (effectiveGuard(target, route)) wrapMethod(target, route);
  }
  wrappedAt = stamp;
}
onConfigure(wrapGuardedRoutes);
onDirectCall(wrapGuardedRoutes);

type GuardDecorator = MethodDecorator & ClassDecorator;

/**
 * A decorator factory applied as the decorator itself (`@JwtRequired` without `()`): the
 * engine calls it with the class, or with (prototype, name, descriptor), or with a standard
 * decorator's (value, context). `tsc` reports it, but transpile-only runners (ts-node
 * --transpile-only, SWC, esbuild, Babel) would leave the route open; so it throws when the
 * class is defined. Guard options are one plain object, never a function, never two arguments.
 */
function refuseBareUse(name: string, args: IArguments, takesOptions: boolean): void {
  if (args.length > (takesOptions ? 1 : 0) || typeof args[0] === 'function') throw new JwtUsageError(`Write @${name}() with parentheses`);
}

function protect(options: GuardOptions): GuardDecorator {
  const guard = new Guard(options); // bad options fail here, when the class is defined
  return ((target: object, method?: string | symbol, descriptor?: PropertyDescriptor) => {
    routingControllers('a guard decorator (@JwtRequired() and friends)');
    requireReflectMetadata('a guard decorator (@JwtRequired() and friends)');
    installHooks();
    if (method === undefined) {
      const controller = target as Function;
      recordClassGuard(controller, guard);
      for (const route of routeMethods(controller)) if (effectiveGuard(controller, route)) wrapMethod(controller, route);
      return;
    }
    if (typeof descriptor?.value !== 'function') throw new JwtUsageError(`@JwtRequired() and friends decorate methods; ${String(method)} is not one`);
    recordMethodGuard(target, method, guard);
    if (!WRAPPED.has(descriptor.value)) {
      const original = descriptor.value as Function;
      descriptor.value = guardFunction(target, method, { declaring: target, body: () => original });
    }
  }) as GuardDecorator;
}

/**
 * A valid token is required: an access token unless the options say otherwise. On a
 * controller class, for every route the class serves (inherited ones included) that has
 * no guard decorator on its method.
 *
 * @example @Get('/protected') @JwtRequired() protected() {}
 * @example @Delete('/:id') @JwtRequired({ roles: ['admin'] }) remove() {}
 */
export function JwtRequired(options: GuardOptions = {}): GuardDecorator {
  refuseBareUse('JwtRequired', arguments, true);
  return protect(options);
}

/** A fresh access token is required (`@JwtRequired({ fresh: true })`). @example @Post('/password') @FreshJwtRequired() change() {} */
export function FreshJwtRequired(options: Omit<GuardOptions, 'fresh'> = {}): GuardDecorator {
  refuseBareUse('FreshJwtRequired', arguments, true);
  return protect({ ...options, fresh: true });
}

/** A refresh token is required (`@JwtRequired({ refresh: true })`). @example @Post('/refresh') @RefreshRequired() refresh() {} */
export function RefreshRequired(options: Omit<GuardOptions, 'refresh'> = {}): GuardDecorator {
  refuseBareUse('RefreshRequired', arguments, true);
  return protect({ ...options, refresh: true });
}

/**
 * No token runs the route anonymously (`@Identity()` is undefined); a token that
 * is present must still be valid (`@JwtRequired({ optional: true })`).
 *
 * @example @Get('/feed') @JwtOptional() feed(@Identity() who?: string) {}
 */
export function JwtOptional(options: Omit<GuardOptions, 'optional'> = {}): GuardDecorator {
  refuseBareUse('JwtOptional', arguments, true);
  return protect({ ...options, optional: true });
}

function injector(kind: InjectedKind): ParameterDecorator {
  return (target, method, index) => {
    routingControllers('@Identity() / @Claims() / @CurrentJwtUser()');
    requireReflectMetadata('@Identity() / @Claims() / @CurrentJwtUser()');
    if (method === undefined) throw new JwtUsageError('@Identity(), @Claims() and @CurrentJwtUser() decorate method parameters');
    if (!INJECTED.has(target)) INJECTED.set(target, new Map());
    INJECTED.get(target)!.set(method, [...(INJECTED.get(target)!.get(method) ?? []), { index, kind }]);
    createParamDecorator({
      value: (action) => {
        const ctx = action.context as Context;
        if (!((ctx.state as Record<symbol, unknown>)[ROUTE_PROOF] instanceof RouteProof)) {
          throw new JwtUsageError(`${target.constructor.name}.${String(method)}: no guard covers this route's @Identity() / @Claims()`);
        }
        return injectedValue(kind, { token: undefined, payload: ctx.state.jwt as TokenPayload | undefined, guard: undefined, user: ctx.state.jwtUser });
      },
    })(target, method as string, index);
    const params = getMetadataArgsStorage().params;
    INJECTING_PARAMS.add(params[params.length - 1]);
    if (kind === 'user') USER_PARAMS.add(params[params.length - 1]);
  };
}

/** Injects the token's identity. @example me(@Identity() username: string) {} */
export function Identity(): ParameterDecorator {
  refuseBareUse('Identity', arguments, false);
  return injector('identity');
}

/** Injects the verified payload (custom claims at the top level). @example me(@Claims() claims: JwtPayload<{ roles: string[] }>) {} */
export function Claims(): ParameterDecorator {
  refuseBareUse('Claims', arguments, false);
  return injector('claims');
}

/** Injects the user `userLookupLoader` loaded for the token. @example me(@CurrentJwtUser() user: User) {} */
export function CurrentJwtUser(): ParameterDecorator {
  refuseBareUse('CurrentJwtUser', arguments, false);
  return injector('user');
}
