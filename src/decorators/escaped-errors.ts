/**
 * A `JwtError` that escapes a routing-controllers action (`decodeToken()` of an expired token,
 * `revokeToken()` of a forged one) answers through the loaders, as a guard refusal does:
 * fje's `expired_token_loader` answers such an error in a Flask view too. routing-controllers
 * sends an escaped error itself (status from `httpCode`, body from `toJSON()`, both sync), so
 * its Koa driver's `handleError` first turns the error into the loader's answer, which may be
 * async. Installed once per routing-controllers copy; every other error passes unchanged.
 */
import type * as RoutingControllers from 'routing-controllers';
import type { Context } from 'koa';
import { JwtError } from '../core/errors';
import { JwtManager } from '../core/manager';

type HandleError = (error: unknown, action: unknown, options: { context?: Context } | undefined) => Promise<unknown>;

const INSTALLED = Symbol.for('koa-jwt-extended:escaped-errors');

/**
 * Makes routing-controllers answer an escaped `JwtError` with its loader's `{ status, body }`.
 * `toHttpError` is the decorators' one mapping (the same as for a refused direct call).
 *
 * @example onRoutingControllersLoad((module) => answerEscapedErrors(module, toHttpError))
 */
export function answerEscapedErrors(
  { KoaDriver }: typeof RoutingControllers,
  toHttpError: (error: unknown, ctx: Context | undefined) => Promise<unknown>,
): void {
  const prototype = KoaDriver.prototype as unknown as { handleError: HandleError; [INSTALLED]?: true };
  if (prototype[INSTALLED]) return;
  const original = prototype.handleError;
  prototype.handleError = function handleError(this: unknown, error, action, options) {
    if (!(error instanceof JwtError) || !JwtManager.isConfigured) return original.call(this, error, action, options);
    return toHttpError(error, options?.context).then((answer) => original.call(this, answer, action, options));
  };
  prototype[INSTALLED] = true;
}
