/**
 * The one place that loads routing-controllers, and only when something needs it: a guard
 * or parameter decorator, a checker, `addJwtSecurity()`, or `configure()` in an app that has
 * it installed. A plain Koa app imports `koa-jwt-extended` (which exports the decorators)
 * without routing-controllers, class-transformer or koa-bodyparser installed; using a
 * decorator there throws a `JwtUsageError` that says what to install.
 */
import type * as RoutingControllers from 'routing-controllers';
import { JwtError, JwtUsageError, TokenNotFoundError, TokenStoreError } from '../core/errors';
import { JwtHttpError } from '../core/http-error';

type Module = typeof RoutingControllers;

let loaded: Module | undefined;
/** Why the last load failed (a module not found), so each later call fails the same way without a new require. */
let missing: string | undefined;

/** The module routing-controllers needs that is not installed, for a "Cannot find module" error; else undefined. */
function missingModule(error: unknown): string | undefined {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' || typeof message !== 'string') return undefined;
  return /Cannot find module '(routing-controllers|class-transformer)[/']/.exec(message)?.[1];
}

function load(): Module | undefined {
  if (loaded !== undefined || missing !== undefined) return loaded;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, never by a plain Koa app
    loaded = require('routing-controllers') as Module;
  } catch (error) {
    missing = missingModule(error);
    if (missing === undefined) throw error;
    return undefined;
  }
  // our errors answer for themselves when they escape an action (decodeToken of an expired token,
  // revokeToken of an unknown jti): routing-controllers only takes the status of an HttpError
  const { HttpError } = loaded;
  for (const ErrorClass of [JwtError, TokenNotFoundError, TokenStoreError, JwtHttpError]) {
    if (!(ErrorClass.prototype instanceof HttpError)) Object.setPrototypeOf(ErrorClass.prototype, HttpError.prototype);
  }
  for (const hook of onLoad) hook(loaded);
  return loaded;
}

const onLoad: Array<(module: Module) => void> = [];

/**
 * Runs `hook` with routing-controllers once it is loaded (at once if it already is): the
 * decorators' changes to routing-controllers' own classes wait for it.
 *
 * @example onRoutingControllersLoad((module) => answerEscapedErrors(module, toHttpError))
 */
export function onRoutingControllersLoad(hook: (module: Module) => void): void {
  onLoad.push(hook);
  if (loaded !== undefined) hook(loaded);
}

/**
 * routing-controllers, loaded on first use; a `JwtUsageError` naming the install command when
 * it (or its class-transformer) is not installed.
 *
 * @example routingControllers('@JwtRequired()').getMetadataArgsStorage()
 */
export function routingControllers(feature: string): Module {
  const module = load();
  if (module !== undefined) return module;
  throw new JwtUsageError(
    `${feature} needs routing-controllers, which is not installed (${missing} is missing): ` +
      'run `npm install routing-controllers class-transformer reflect-metadata` (and koa-bodyparser for @Body()). ' +
      "Without it, protect Koa routes with jwtRequired() or verifyJwtInRequest()",
  );
}

/**
 * routing-controllers if the app has it installed, else `undefined` (a plain Koa app).
 *
 * @example if (installedRoutingControllers()) wrapGuardedRoutes()
 */
export function installedRoutingControllers(): Module | undefined {
  return load();
}

/** routing-controllers' metadata storage (loads it). @example getMetadataArgsStorage().actions */
export function getMetadataArgsStorage(): ReturnType<Module['getMetadataArgsStorage']> {
  return routingControllers("koa-jwt-extended's decorators").getMetadataArgsStorage();
}

/** routing-controllers' `createParamDecorator` (loads it). @example createParamDecorator({ value: () => 1 })(proto, 'm', 0) */
export function createParamDecorator(options: Parameters<Module['createParamDecorator']>[0]): ReturnType<Module['createParamDecorator']> {
  return routingControllers('@Identity() / @Claims() / @CurrentJwtUser()').createParamDecorator(options);
}
