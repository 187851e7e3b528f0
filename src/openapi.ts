/**
 * OpenAPI: marks the guarded operations of a document made by routing-controllers-openapi's
 * `routingControllersToSpec()` with the security schemes their guards accept. Works on the
 * plain document object, so routing-controllers-openapi stays the app's own dependency.
 */
import type { MetadataArgsStorage } from 'routing-controllers';
import { JwtManager } from './core/manager';
import type { JwtConfig, TokenLocation } from './core/options';
import { effectiveGuard } from './decorators/routes';
import { getMetadataArgsStorage } from './decorators/routing-controllers';
import { Guard } from './koa/guard';

/** The part of an OpenAPI 3 document this function reads and writes. */
export interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
  components?: { securitySchemes?: Record<string, unknown>; [key: string]: unknown };
  [key: string]: unknown;
}

type SecurityRequirement = Record<string, string[]>;
type ActionMetadataArgs = MetadataArgsStorage['actions'][number];

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The security schemes a location stands for (the CSRF header is its own scheme, required beside the cookie). */
function schemesFor(location: TokenLocation, config: JwtConfig, refresh: boolean): Record<string, Record<string, unknown>> {
  switch (location) {
    case 'headers':
      return config.headerKey === 'authorization' && config.headerType.toLowerCase() === 'bearer'
        ? { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
        : { headerAuth: { type: 'apiKey', in: 'header', name: config.headerName, description: `${config.headerType ? `${config.headerType} ` : ''}<JWT>` } };
    case 'cookies':
      return refresh
        ? { refreshCookieAuth: { type: 'apiKey', in: 'cookie', name: config.refreshCookieName } }
        : { cookieAuth: { type: 'apiKey', in: 'cookie', name: config.accessCookieName } };
    case 'query':
      return { queryAuth: { type: 'apiKey', in: 'query', name: config.queryStringName } };
    case 'json':
      return {}; // a token in the JSON body has no OpenAPI security scheme
  }
}

function csrfScheme(config: JwtConfig, refresh: boolean): Record<string, Record<string, unknown>> {
  return refresh
    ? { refreshCsrfToken: { type: 'apiKey', in: 'header', name: config.refreshCsrfHeaderName } }
    : { csrfToken: { type: 'apiKey', in: 'header', name: config.accessCsrfHeaderName } };
}

/** The alternatives (OR) a guard accepts on an HTTP method, and the schemes they use. */
function requirements(guard: Guard, httpMethod: string, config: JwtConfig, used: Record<string, unknown>): SecurityRequirement[] {
  const refresh = guard.extractAs === 'refresh';
  const alternatives: SecurityRequirement[] = guard.optional ? [{}] : [];
  for (const location of guard.locations ?? config.tokenLocation) {
    const schemes = { ...schemesFor(location, config, refresh) };
    if (location === 'cookies' && config.cookieCsrfProtect && (httpMethod === 'all' || config.csrfMethodSet.has(httpMethod.toUpperCase()))) {
      Object.assign(schemes, csrfScheme(config, refresh));
    }
    if (Object.keys(schemes).length === 0) continue;
    Object.assign(used, schemes);
    alternatives.push(Object.fromEntries(Object.keys(schemes).map((name) => [name, []])));
  }
  return alternatives;
}

/** `/users/:id` as OpenAPI writes it: `/users/{id}`. */
function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)(\([^)]*\))?\??/g, '{$1}');
}

interface GuardedRoute {
  operationId: string;
  path: string;
  method: string;
  guard: Guard;
}

/**
 * The routes each controller serves, as routing-controllers resolves them: its own actions and
 * those of its base classes (the nearest declaration of a method wins), each with the controller
 * as its target. Actions of a class that is no controller (an abstract base) appear only under
 * the controllers that extend it.
 */
function servedActions(storage: MetadataArgsStorage): ActionMetadataArgs[] {
  const served: ActionMetadataArgs[] = [];
  for (const controller of storage.controllers) {
    const seen = new Set<string>();
    for (let target: Function | null = controller.target; target && target !== Function.prototype; target = Object.getPrototypeOf(target)) {
      for (const action of storage.actions) {
        if (action.target !== target || seen.has(action.method)) continue;
        seen.add(action.method);
        served.push({ ...action, target: controller.target });
      }
    }
  }
  return served;
}

/**
 * routing-controllers' metadata storage as routing-controllers-openapi should read it: every
 * route under the controller that serves it, inherited routes included, and nothing under a base
 * class that is no controller. `routingControllersToSpec()` crashes on the global storage when a
 * controller extends an abstract base with routes (the base's actions have no controller); give
 * it this view instead.
 *
 * @example
 * const spec = addJwtSecurity(routingControllersToSpec(openApiStorage(), { routePrefix: '/api' }), { routePrefix: '/api' });
 */
// Typed without naming routing-controllers' MetadataArgsStorage, which our declarations may not
// reference (an optional peer: tsc would fail on them in an app without it). Given a storage, the
// view has its type; without one, `any` (routing-controllers' global storage).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function openApiStorage(): any;
export function openApiStorage<S extends object>(storage: S): S;
export function openApiStorage(storage: object = getMetadataArgsStorage()): object {
  const global = storage as MetadataArgsStorage;
  return Object.assign(Object.create(global) as MetadataArgsStorage, { actions: servedActions(global) });
}

/** routing-controllers' `@Authorized()` on the route's method or its controller class (answered by `jwtAuthorizationChecker`). */
function isAuthorized(storage: MetadataArgsStorage, target: Function, method: string): boolean {
  return storage.responseHandlers.some((handler) => handler.type === 'authorized' && handler.target === target
    && (handler.method === method || handler.method === undefined));
}

/** What `jwtAuthorizationChecker` accepts: an access token from the configured locations. */
let authorizedGuard: Guard | undefined;

/** Every guarded route routing-controllers serves, as routing-controllers-openapi names it. */
function guardedRoutes(routePrefix: string): GuardedRoute[] {
  const storage = getMetadataArgsStorage();
  const routes: GuardedRoute[] = [];
  for (const action of servedActions(storage)) {
    const guard = effectiveGuard(action.target, action.method)
      ?? (isAuthorized(storage, action.target, action.method) ? (authorizedGuard ??= new Guard({})) : undefined);
    if (!guard) continue;
    const controller = storage.controllers.find((c) => c.target === action.target);
    const route = typeof action.route === 'string' ? action.route : '';
    const path = openApiPath(`${routePrefix}${controller?.route ?? ''}${route}`);
    routes.push({ operationId: `${action.target.name}.${action.method}`, path, method: action.type, guard });
  }
  return routes;
}

/**
 * Adds the security schemes in use (`bearerAuth` for header tokens, `cookieAuth` with the
 * `csrfToken` header for cookie tokens on CSRF-checked methods, `queryAuth`) and a
 * `security` entry on exactly the guarded operations (guard decorators, class guards and
 * inherited routes, and routing-controllers' `@Authorized()` answered by `jwtAuthorizationChecker`);
 * an optional route gets `[{}, ...]` (anonymous allowed). Operations are matched by routing-controllers-openapi's operationId
 * (`Controller.method`), else by path and method. Returns the same document.
 *
 * @example
 * const spec = addJwtSecurity(routingControllersToSpec(openApiStorage(), { routePrefix: '/api' }), { routePrefix: '/api' });
 */
export function addJwtSecurity<D extends object>(document: D, options: { routePrefix?: string } = {}): D {
  const spec = document as OpenApiDocument;
  const config = JwtManager.instance.config;
  const routes = guardedRoutes(options.routePrefix ?? '');
  const byOperationId = new Map(routes.map((route) => [route.operationId, route]));
  const used: Record<string, unknown> = {};
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method) || typeof operation !== 'object' || operation === null) continue;
      const operationId = (operation as { operationId?: unknown }).operationId;
      const route = (typeof operationId === 'string' ? byOperationId.get(operationId) : undefined)
        ?? routes.find((r) => r.path === path && (r.method === method || r.method === 'all'));
      if (!route) continue;
      (operation as { security?: SecurityRequirement[] }).security = requirements(route.guard, method, config, used);
    }
  }
  if (Object.keys(used).length > 0) {
    spec.components ??= {};
    spec.components.securitySchemes = { ...spec.components.securitySchemes, ...used };
  }
  return document;
}
