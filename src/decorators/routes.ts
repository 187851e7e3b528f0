/**
 * Guards follow routes, not method declarations. routing-controllers serves a base
 * class's routes on every subclass, but looks up middlewares and parameters by the
 * subclass alone; so the guard of a route is resolved here, for the (controller class,
 * method) pair routing-controllers is building, and handed to it through two hooks on
 * its metadata storage (`filterUsesWithTargetAndMethod`, `filterParamsWithTargetAndMethod`).
 *
 * The rule: a route's guard is the guard decorator on its method, from the nearest class
 * in the chain that has one (so an override without a decorator stays guarded and only
 * an explicit `@JwtOptional()` relaxes it); else the guard on the nearest guarded class.
 */
import { getMetadataArgsStorage, routingControllers } from './routing-controllers';
import { fuseLeadingMiddleware, leadingMiddleware } from './fused-route';
import { JwtUsageError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { Guard } from '../koa/guard';
import { ROUTE_PROOF } from '../koa/guard';
import { GUARD_MIDDLEWARES } from '../koa/marks';

type MethodName = string | symbol;
type Storage = ReturnType<typeof getMetadataArgsStorage>;
type UseArgs = Storage['uses'][number];
type ParamArgs = Storage['params'][number];

const METHOD_GUARDS = new WeakMap<object, Map<MethodName, Guard>>();
const CLASS_GUARDS = new WeakMap<Function, Guard>();
/** The parameter records of `@Identity()`, `@Claims()` and `@CurrentJwtUser()`. */
export const INJECTING_PARAMS = new WeakSet<object>();
/** The parameter records of `@CurrentJwtUser()` (they need a `userLookupLoader`). */
export const USER_PARAMS = new WeakSet<object>();

/**
 * `@CurrentJwtUser()` with no `userLookupLoader` would always inject `undefined` (fje raises
 * there): refused when routing-controllers builds the route, the manager configured by then.
 * Not yet configured: the parameter refuses at request time instead (see the injector).
 */
function checkUserLookup(params: readonly ParamArgs[], target: Function, method: MethodName): void {
  if (!JwtManager.isConfigured || JwtManager.instance.userLookupLoader !== undefined) return;
  if (!params.some((p) => USER_PARAMS.has(p))) return;
  throw new JwtUsageError(
    `${target.name}.${String(method)} uses @CurrentJwtUser() but no userLookupLoader is configured: ` +
      'JwtManager.configure({ userLookupLoader: (payload) => findUser(payload.sub) }) before the server is built',
  );
}

/** Resolved guards per class and method; dropped whenever a guard decorator or a route is declared. */
let resolved = new WeakMap<Function, Map<MethodName, Guard | null>>();
/** Counts routes declared (routing-controllers' actions), so caches of route types can tell when they are stale. */
let routesRecorded = 0;

/** How many routes have been declared since the hooks were installed: a cache of `routeTypes()` keyed by it is current. */
export function routeCount(): number {
  return routesRecorded;
}
/** Counts guard decorators applied, so work done for all of them can tell when it is stale. */
let guardsRecorded = 0;

/** How many guard decorators have been applied so far. */
export function guardCount(): number {
  return guardsRecorded;
}

/** Above any real parameter index: routing-controllers sorts parameters by index, so the proof comes last. */
const PROOF_PARAM_INDEX = 1_000_000;

function chain(target: Function): Function[] {
  const classes: Function[] = [];
  for (let c: unknown = target; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) classes.push(c as Function);
  return classes;
}

/** Records a guard decorator on a method. */
export function recordMethodGuard(prototype: object, method: MethodName, guard: Guard): void {
  let guards = METHOD_GUARDS.get(prototype);
  if (!guards) METHOD_GUARDS.set(prototype, (guards = new Map()));
  if (guards.has(method)) throw new JwtUsageError(`${String(method)} has two guard decorators; keep one`);
  guards.set(method, guard);
  guardsRecorded += 1;
  resolved = new WeakMap();
}

/** Records a guard decorator on a controller class. */
export function recordClassGuard(target: Function, guard: Guard): void {
  if (CLASS_GUARDS.has(target)) throw new JwtUsageError(`${target.name} has two guard decorators; keep one`);
  CLASS_GUARDS.set(target, guard);
  guardsRecorded += 1;
  resolved = new WeakMap();
}

/** The routing-controllers action of `method` served by `target` (declared on it or inherited), if any. */
export function routeOf(target: Function, method: MethodName): Storage['actions'][number] | undefined {
  const actions = getMetadataArgsStorage().actions;
  for (const c of chain(target)) {
    const action = actions.find((a) => a.target === c && a.method === method);
    if (action) return action;
  }
  return undefined;
}

/**
 * The HTTP methods (routing-controllers' lower-case types, `'all'` included) of every
 * route `method` has on `target`: those of the nearest class in its chain declaring any
 * (`@Get() @Post()` stacked on one method gives both).
 *
 * @example routeTypes(CallsController, 'act') // ['all']
 */
export function routeTypes(target: Function, method: MethodName): string[] {
  const actions = getMetadataArgsStorage().actions;
  for (const c of chain(target)) {
    const types = actions.filter((a) => a.target === c && a.method === method).map((a) => a.type);
    if (types.length > 0) return types;
  }
  return [];
}

/** Every route method `target` serves, its own and inherited, as routing-controllers collects them. */
export function routeMethods(target: Function): string[] {
  const classes = new Set(chain(target));
  return [...new Set(getMetadataArgsStorage().actions.filter((a) => classes.has(a.target)).map((a) => a.method))];
}

/** Every method a guard decorator names in `target`'s chain (a route or not): an override of one resolves to it. */
export function guardedMethods(target: Function): MethodName[] {
  const names = new Set<MethodName>();
  for (const c of chain(target)) for (const name of METHOD_GUARDS.get(c.prototype as object)?.keys() ?? []) names.add(name);
  return [...names];
}

function resolve(target: Function, method: MethodName): Guard | undefined {
  const classes = chain(target);
  for (const c of classes) {
    const guard = METHOD_GUARDS.get(c.prototype as object)?.get(method);
    if (guard) return guard;
  }
  if (routeOf(target, method) === undefined) return undefined; // a class guard covers routes only
  for (const c of classes) {
    const guard = CLASS_GUARDS.get(c);
    if (guard) return guard;
  }
  return undefined;
}

/**
 * The guard of `method` as served (or called) on an instance of `target`, or `undefined`.
 *
 * @example effectiveGuard(AdminController, 'list')
 */
export function effectiveGuard(target: Function | undefined, method: MethodName): Guard | undefined {
  if (typeof target !== 'function') return undefined;
  let byMethod = resolved.get(target);
  if (!byMethod) resolved.set(target, (byMethod = new Map()));
  let guard = byMethod.get(method);
  if (guard === undefined) byMethod.set(method, (guard = resolve(target, method) ?? null));
  return guard ?? undefined;
}

/** The prototype in `target`'s chain that owns the function called for `method`. */
export function ownerOf(target: Function, method: MethodName): object {
  for (let proto: object | null = target.prototype as object; proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.prototype.hasOwnProperty.call(proto, method)) return proto;
  }
  throw new JwtUsageError(`${target.name}.${String(method)} is not a method`);
}

function proofParam(owner: object, method: MethodName): ParamArgs {
  return {
    type: 'custom-converter', object: owner, method: method as string, index: PROOF_PARAM_INDEX, parse: false, required: false,
    transform: (action: { context: { state: Record<symbol, unknown> } }) => action.context.state[ROUTE_PROOF],
  } as unknown as ParamArgs;
}

function coveredByMiddleware(uses: readonly UseArgs[], target: Function, method: MethodName): boolean {
  // a @UseBefore only: a @UseAfter guard runs after the action, too late to cover its parameters
  return uses.some((use) => use.target === target && (use.method === method || use.method === undefined) && !use.afterAction && GUARD_MIDDLEWARES.has(use.middleware));
}

const HOOKED = Symbol.for('koa-jwt-extended:hooked');

/** What a registration names: a class (a controller) or a class and one of its methods (a route, a parameter). */
export type Registered = (kind: 'controller' | 'route' | 'param', target: Function, method?: MethodName) => void;

/**
 * Makes each of the storage's record arrays call `seen` with each record pushed onto it, also
 * after routing-controllers' `reset()` gives the storage new arrays. Its decorators only ever
 * `push` (a controller's record when its class decorator runs, after the class body and its method
 * decorators; a route's and a parameter's while its method is decorated). The storage's own
 * properties stay plain data: views made with `Object.create(storage)` (`openApiStorage()`) assign
 * their own arrays without touching routing-controllers'.
 */
function observe(storage: Storage, seen: { [K in Observed]: (record: Storage[K][number]) => void }): void {
  const hook = (key: Observed): void => {
    const array = storage[key] as unknown[];
    if (Object.prototype.hasOwnProperty.call(array, 'push')) return;
    Object.defineProperty(array, 'push', {
      configurable: true, writable: true, enumerable: false,
      value: function push(this: unknown[], ...records: unknown[]): number {
        const length = Array.prototype.push.apply(this, records);
        for (const record of records) (seen[key] as (record: unknown) => void)(record);
        return length;
      },
    });
  };
  const keys = Object.keys(seen) as Observed[];
  for (const key of keys) hook(key);
  const reset = storage.reset;
  storage.reset = function resetObserved(this: Storage): void {
    reset.call(this);
    if (this === storage) for (const key of keys) hook(key);
  };
}
type Observed = 'controllers' | 'actions' | 'params';

/**
 * Installs the hooks on routing-controllers' metadata storage (once per storage):
 * a guarded route gets its guard's middleware first among its own (sharing a router layer with
 * the function after it once registered: `./fused-route`), and the parameters of
 * the method actually called (a base class's, for an inherited route) plus the proof.
 * `wrap(target, method)` makes sure a direct call of the method is checked too. An open
 * route gets `contextMiddleware`, which makes the request known to the guarded methods it
 * may call, whenever the app declares a guard anywhere (a guarded method of another class
 * is checked against this request, not refused as a call with no request). `registered`
 * hears of each controller, route and parameter as it is declared.
 */
export function installRouteHooks(
  wrap: (target: Function, method: MethodName) => object,
  contextMiddleware: Function,
  needsProof: () => boolean,
  registered: Registered,
): void {
  const storage = getMetadataArgsStorage() as Storage & { [HOOKED]?: boolean };
  if (storage[HOOKED]) return;
  storage[HOOKED] = true;
  fuseLeadingMiddleware(routingControllers('koa-jwt-extended\'s route hooks'));
  observe(storage, {
    controllers: (record) => registered('controller', record.target),
    actions: (record) => {
      routesRecorded += 1;
      resolved = new WeakMap(); // a class guard covers routes only: a new route may change what a method resolves to
      registered('route', record.target, record.method);
    },
    params: (record) => {
      const target = (record.object as { constructor?: unknown } | undefined)?.constructor;
      if (typeof target === 'function' && record.method !== undefined) registered('param', target, record.method);
    },
  });
  const filterUses = storage.filterUsesWithTargetAndMethod.bind(storage);
  const filterParams = storage.filterParamsWithTargetAndMethod.bind(storage);
  storage.filterUsesWithTargetAndMethod = (target: Function, method: string) => {
    const uses = filterUses(target, method);
    if (method === undefined) return uses;
    const guard = effectiveGuard(target, method);
    // an open route of an app with guards: a guarded method it calls (of any class) is checked against this request
    if (!guard) return guardsRecorded > 0 ? [{ target, method, middleware: leadingMiddleware(contextMiddleware), afterAction: false }, ...uses] : uses;
    wrap(target, method);
    // only a middleware of the route's own between the guard and the action can throw past routing-controllers' handleError
    const middlewareFollows = uses.some((use) => !use.afterAction);
    return [{ target, method, middleware: leadingMiddleware(guard.middlewareFor(target, method, middlewareFollows)), afterAction: false }, ...uses];
  };
  storage.filterParamsWithTargetAndMethod = (target: Function, method: string) => {
    const guard = effectiveGuard(target, method);
    if (!guard) {
      const params = filterParams(target, method);
      // only for a served controller: tools such as routing-controllers-openapi also read abstract bases' actions
      const served = storage.controllers.some((c) => c.target === target);
      if (served && params.some((p) => INJECTING_PARAMS.has(p)) && !coveredByMiddleware(storage.uses, target, method)) {
        throw new JwtUsageError(
          `${target.name}.${method} uses @Identity(), @Claims() or @CurrentJwtUser() but no guard covers its route: ` +
            'add @JwtRequired() (or @JwtOptional()) to the method or its class',
        );
      }
      if (served) checkUserLookup(params, target, method);
      return params;
    }
    const owner = wrap(target, method);
    const params = filterParams((owner as { constructor: Function }).constructor, method);
    if (storage.controllers.some((c) => c.target === target)) checkUserLookup(params, target, method);
    // with the request context, the wrapper knows a routed call by it; without, by this parameter
    return needsProof() ? [...params, proofParam(owner, method)] : params;
  };
}
