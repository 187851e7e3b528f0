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
  effectiveGuard, guardCount, INJECTING_PARAMS, installRouteHooks, recordClassGuard, recordMethodGuard, routeMethods, USER_PARAMS,
} from './routes';
import { guardDeclaredMethod, INJECTED, injectedValue, type InjectedKind, toHttpError, wrapMethod } from './direct-calls';
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
