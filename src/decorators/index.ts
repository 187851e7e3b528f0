/**
 * The decorators record what they mean (a guard per method or class, injected
 * parameters) and wrap the method (`./direct-calls`) so a direct call is checked by the
 * same guard. Which guard a route gets is decided in `./routes`; no rule lives here.
 */
import type { Context } from 'koa';
import { JwtUsageError } from '../core/errors';
import { JwtHttpError } from '../core/http-error';
import { JwtManager, onConfigure } from '../core/manager';
import type { TokenPayload } from '../core/responses';
import { runInRequestScope } from '../koa/context';
import { Guard, GuardOptions, ROUTE_PROOF, RouteProof } from '../koa/guard';
import {
  effectiveGuard, guardCount, guardedMethods, INJECTING_PARAMS, installRouteHooks, recordClassGuard, recordMethodGuard, routeMethods, USER_PARAMS,
} from './routes';
import { guardDeclaredMethod, INJECTED, injectedValue, type InjectedKind, reportedNotAMethod, toHttpError, wrapMethod } from './direct-calls';
import { requireReflectMetadata } from './reflect-metadata';
import { answerEscapedErrors } from './escaped-errors';
import { createParamDecorator, getMetadataArgsStorage, installedRoutingControllers, onRoutingControllersLoad, routingControllers } from './routing-controllers';
import { onDirectCall } from '../koa/marks';

export { JwtHttpError, toHttpError };

onRoutingControllersLoad((module) => answerEscapedErrors(module, toHttpError));

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
  installRouteHooks(wrapMethod, openRouteContext, routesNeedProof, registered);
}

/**
 * Wraps `target`'s guarded methods (or its `method` alone) so a direct call of them is checked:
 * its routes, own and inherited, and the methods a guard decorator names in its chain (an
 * override of a guarded method that is no route resolves to that guard too).
 */
function wrapGuarded(target: Function, method?: string | symbol): void {
  const methods = method === undefined ? new Set([...routeMethods(target), ...guardedMethods(target)]) : [method];
  // a route reported as no method when it was declared is not reported again for every later pass
  for (const name of methods) if (effectiveGuard(target, name) && !reportedNotAMethod(target, name)) wrapMethod(target, name);
}

/** The wraps to redo once the decorating statement is over, and whether that is scheduled. */
const afterDecorating = new Map<Function, Set<string | symbol>>();
let redoScheduled = false;

function redoAfterDecorating(): void {
  redoScheduled = false;
  for (const [target, methods] of afterDecorating) for (const method of methods) wrapSoftly(target, method);
  afterDecorating.clear();
}

/** `wrapGuarded()` for a registration: a misuse it finds (a route on a getter) is left to `configure()`'s pass to report. */
function wrapSoftly(target: Function, method?: string | symbol): void {
  try {
    wrapGuarded(target, method);
  } catch (error) {
    if (!(error instanceof JwtUsageError)) throw error;
  }
}

/**
 * A controller, route or parameter routing-controllers just recorded: its guarded methods are
 * wrapped now, not at the next `configure()` (a controller defined after it, a route applied by
 * hand, a subclass that is no controller but decorates its override's parameters). A controller's
 * record comes when its class decorator runs, the class complete. A route's or a parameter's comes
 * while its method is decorated; emitted JS (`__decorate`) then puts back the descriptor it read
 * before the decorators ran, so that wrap is redone when the statement is over (a microtask), and
 * the testing kit's `withToken()` redoes every wrap before its call. A new route can bring a
 * method under a class guard, on its class and on the controllers that extend it.
 */
function registered(kind: 'controller' | 'route' | 'param', target: Function, method?: string | symbol): void {
  // a guarded route that is no method (a field holding a function) is refused where it is declared
  if (kind === 'route') wrapGuarded(target, method);
  else wrapSoftly(target, method);
  if (method === undefined) return;
  if (kind === 'route') {
    for (const { target: controller } of getMetadataArgsStorage().controllers) {
      if (controller !== target && Object.prototype.isPrototypeOf.call(target.prototype, controller.prototype)) wrapSoftly(controller, method);
    }
  }
  let methods = afterDecorating.get(target);
  if (!methods) afterDecorating.set(target, (methods = new Set()));
  methods.add(method);
  if (!redoScheduled) {
    redoScheduled = true;
    queueMicrotask(redoAfterDecorating);
  }
}

/** What `wrapGuardedRoutes()` last saw: controllers, actions, parameters and guards declared. */
let wrappedAt = '';

/**
 * Wraps every guarded method of every class routing-controllers knows (its controllers, the
 * classes declaring its routes and parameters), so a direct call is checked even for a class never
 * served (a subclass of a guarded base, called by a unit test). Runs at every `configure()` and in
 * the testing kit's `withToken()`; the storage's registrations wrap each class as it is declared
 * too (`registered`).
 *
 * The limit: a class no decorator ever names is out of reach. `class Plain extends Guarded {
 * secret() {} }` with no decorator on the class, the override or its parameters declares nothing
 * JavaScript lets a library see (extending a class reads its `prototype`, `new Plain()` runs the
 * user's constructors): `new Plain().secret()` runs that override unchecked, though route rules
 * would give it Guarded's guard. Its `super.secret()` is checked (Guarded's own wrapper).
 */
export function wrapGuardedRoutes(): void {
  if (installedRoutingControllers() === undefined) return; // a plain Koa app: no controllers to wrap
  installHooks();
  const storage = getMetadataArgsStorage();
  const stamp = `${storage.controllers.length}:${storage.actions.length}:${storage.params.length}:${guardCount()}`;
  if (stamp === wrappedAt) return; // nothing declared since the last pass
  const classes = new Set<Function>();
  for (const { target } of storage.controllers) classes.add(target);
  for (const { target } of storage.actions) classes.add(target);
  for (const target of classes) wrapGuarded(target);
  for (const { object, method } of storage.params) {
    const target = (object as { constructor?: unknown } | undefined)?.constructor;
    if (typeof target === 'function' && method !== undefined) wrapGuarded(target, method);
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
    if (typeof target === 'function') {
      // a static method: never a route, and its calls carry no controller to find the guard by; refused rather than left open
      throw new JwtUsageError(
        `@JwtRequired() and friends decorate instance methods; ${target.name}.${String(method)} is static: make it an instance method, or check with verifyJwtInRequest(ctx) inside it`,
      );
    }
    recordMethodGuard(target, method, guard);
    descriptor.value = guardDeclaredMethod(target, method, descriptor.value);
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
