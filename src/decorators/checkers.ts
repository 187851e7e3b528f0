/**
 * routing-controllers' own authorization hooks, answered from the same token and the
 * same guard: pass them to `createKoaServer({ authorizationChecker, currentUserChecker })`
 * and `@Authorized()`, `@Authorized(['admin'])` and `@CurrentUser()` work.
 */
import type { Context } from 'koa';
import { claimAt } from '../core/claims';
import { ForbiddenError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { TokenPayload } from '../core/responses';
import { hasAnyRole, ROUTE_PROOF } from '../koa/guard';
import { verifyRequest } from '../koa/middleware';
import { toHttpError } from './direct-calls';
import { routingControllers } from './routing-controllers';

/** The part of routing-controllers' `Action` the checkers read (structural: no routing-controllers types in our declarations). */
export interface CheckerAction {
  context?: unknown;
}

const OPTIONAL = Object.freeze({ optional: true });
const REQUIRED = Object.freeze({});

/**
 * The request's verified payload: the route guard's, or verified here. `required`: a
 * missing token is refused as every door refuses it (`Missing JWT in headers or cookies (...)`).
 */
async function requestPayload(ctx: Context, required: boolean): Promise<TokenPayload | undefined> {
  if ((ctx.state as Record<symbol, unknown>)[ROUTE_PROOF] !== undefined) {
    const payload = ctx.state.jwt as TokenPayload | undefined;
    // `@Authorized()` needs an access token: a route guard's refresh token (`@RefreshRequired()`) is checked afresh, and refused
    if (payload !== undefined && (!required || payload.type === 'access')) return payload;
    if (payload === undefined && !required) return payload;
  }
  return verifyRequest(ctx, required ? REQUIRED : OPTIONAL); // the refusal is published once, by toHttpError
}

/**
 * `authorizationChecker` for routing-controllers: `@Authorized()` needs a valid access
 * token, `@Authorized(['admin'])` also one of the roles in the `rolesClaim` claim. Refusals
 * answer through the loaders (401/422 for the token, 403 `Insufficient permissions`).
 *
 * @example createKoaServer({ controllers, authorizationChecker: jwtAuthorizationChecker })
 */
export async function jwtAuthorizationChecker(action: CheckerAction, roles: string[]): Promise<boolean> {
  routingControllers('jwtAuthorizationChecker');
  const ctx = action.context as Context;
  const manager = JwtManager.instance;
  try {
    const payload = (await requestPayload(ctx, true))!;
    if (roles.length > 0 && !hasAnyRole(claimAt(payload, manager.config.rolesPath), roles)) throw new ForbiddenError(payload);
    return true;
  } catch (error) {
    throw await toHttpError(error, ctx);
  }
}

/**
 * `currentUserChecker` for routing-controllers: `@CurrentUser()` is the user
 * `userLookupLoader` loaded for the request's token (the verified payload when no
 * lookup is configured), `undefined` without a token (`{ required: true }` then refuses).
 *
 * @example createKoaServer({ controllers, currentUserChecker: jwtCurrentUserChecker })
 */
export async function jwtCurrentUserChecker(action: CheckerAction): Promise<unknown> {
  routingControllers('jwtCurrentUserChecker');
  const ctx = action.context as Context;
  try {
    const payload = await requestPayload(ctx, false);
    if (payload === undefined) return undefined;
    return JwtManager.instance.userLookupLoader ? ctx.state.jwtUser : payload;
  } catch (error) {
    throw await toHttpError(error, ctx);
  }
}
