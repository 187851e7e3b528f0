/**
 * The decorators record what they mean in routing-controllers' metadata (a
 * per-route middleware, parameter converters) and wrap the method so a direct
 * call is checked by the same guard. They hold no rule of their own.
 */
import { createParamDecorator, getMetadataArgsStorage, HttpError } from 'routing-controllers';
import { JwtError } from '../core/errors';
import { JwtManager } from '../core/manager';
import type { TokenPayload } from '../core/responses';
import { ACCESS, FRESH_ACCESS, REFRESH, Requirement } from '../core/verify';
import { requestContext } from '../koa/context';
import { Guard, GuardOptions, guardMiddleware, refusal, ROUTE_PROOF, RouteProof } from '../koa/guard';
import { requireReflectMetadata } from './reflect-metadata';

/**
 * A refusal of a directly called method: what the HTTP route would have answered.
 * An `HttpError`, so if it escapes into a routing-controllers response (a protected
 * method called from another route), the client gets this status and body, not a 500.
 * `B` types the body: by default the `{ msg }`-style object of the default answers
 * (`e.body.msg`); give your loaders' body type when they answer otherwise.
 */
export class JwtHttpError<B = Record<string, unknown>> extends HttpError {
  constructor(readonly status: number, readonly body: B, override readonly cause: JwtError) {
    super(status, cause.message);
    Object.setPrototypeOf(this, JwtHttpError.prototype);
    this.name = 'JwtHttpError';
  }

  /** routing-controllers sends this as the JSON body. */
  toJSON(): unknown {
    return this.body;
  }
}

type InjectedKind = 'identity' | 'claims';
/** Per class prototype and method: which parameters the method wrapper fills in. */
const INJECTED = new WeakMap<object, Map<string | symbol, Injected[]>>();

interface Injected {
  index: number;
  kind: InjectedKind;
}

function injectedParams(target: object, method: string | symbol): Injected[] {
  return INJECTED.get(target)?.get(method) ?? [];
}

function injectParams(args: unknown[], injected: Injected[], payload: TokenPayload | undefined): unknown[] {
  const identityClaim = JwtManager.instance.config.identityClaim;
  const filled = [...args];
  for (const { index, kind } of injected) filled[index] = kind === 'identity' ? payload?.[identityClaim] : payload;
  return filled;
}

async function toHttpError(error: unknown): Promise<unknown> {
  if (!(error instanceof JwtError)) return error;
  const response = await refusal(error, JwtManager.instance);
  return new JwtHttpError(response.status, response.body, error);
}

/** Wraps a controller method so a call outside its own HTTP route is checked by the same guard. */
function guardMethod(original: (...args: unknown[]) => unknown, guard: Guard, target: object, method: string | symbol) {
  // not async: when its own route middleware already checked the request, the call costs nothing extra
  return function guarded(this: unknown, ...args: unknown[]): unknown {
    const proof = args[args.length - 1];
    if (proof instanceof RouteProof && proof.guard === guard) return original.apply(this, args.slice(0, -1));
    const context = requestContext.getStore();
    return guardedCall.call(this, original, guard, target, method, context?.token, args);
  };
}

/** A call outside the method's own route: checked by the guard, then run with its context. */
async function guardedCall(
  this: unknown,
  original: (...args: unknown[]) => unknown,
  guard: Guard,
  target: object,
  method: string | symbol,
  token: string | undefined,
  args: unknown[],
): Promise<unknown> {
  let authorized;
  try {
    authorized = await guard.authorizeToken(token, JwtManager.instance);
  } catch (error) {
    throw await toHttpError(error);
  }
  const filled = injectParams(args, injectedParams(target, method), authorized.payload);
  return requestContext.run(authorized, () => original.apply(this, filled));
}

/** Above any real parameter index: routing-controllers sorts parameters by index, so the proof comes last. */
const PROOF_PARAM_INDEX = 1_000_000;

/** Methods that already carry a guard, per class prototype: one guard per method. */
const GUARDED = new WeakMap<object, Set<string | symbol>>();

function isGuarded(prototype: object, method: string | symbol): boolean {
  return GUARDED.get(prototype)?.has(method) ?? false;
}

/** Records the guard's route middleware and proof parameter, and wraps the method. */
function applyGuard(prototype: object, method: string | symbol, descriptor: PropertyDescriptor, guard: Guard): void {
  const original = descriptor.value as (...args: unknown[]) => unknown;
  if (typeof original !== 'function') throw new TypeError(`@JwtRequired() and friends decorate methods; ${String(method)} is not one`);
  if (isGuarded(prototype, method)) throw new TypeError(`${String(method)} has two guard decorators; keep one`);
  if (!GUARDED.has(prototype)) GUARDED.set(prototype, new Set());
  GUARDED.get(prototype)!.add(method);
  getMetadataArgsStorage().uses.push({ target: prototype.constructor, method: method as string, middleware: guardMiddleware(guard), afterAction: false });
  // the route hands the method the middleware's proof, so a routed call is not checked twice
  createParamDecorator({ value: (action) => (action.context.state as Record<symbol, unknown>)[ROUTE_PROOF] })(prototype, method as string, PROOF_PARAM_INDEX);
  const guarded = guardMethod(original, guard, prototype, method);
  Object.defineProperty(guarded, 'name', { value: original.name });
  descriptor.value = guarded;
}

/** On a controller class: every route method without a guard of its own gets one. */
function protectClass(constructor: Function, requirement: Requirement, optional: boolean, options?: GuardOptions): void {
  const prototype = constructor.prototype as object;
  const routes = new Set(getMetadataArgsStorage().actions.filter((action) => action.target === constructor).map((action) => action.method));
  for (const method of routes) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, method);
    if (!descriptor || isGuarded(prototype, method)) continue; // a method's own guard wins
    applyGuard(prototype, method, descriptor, new Guard(requirement, optional, options));
    Object.defineProperty(prototype, method, descriptor);
  }
}

type GuardDecorator = MethodDecorator & ClassDecorator;

function protect(requirement: Requirement, optional: boolean, options?: GuardOptions): GuardDecorator {
  return ((target: object, method?: string | symbol, descriptor?: PropertyDescriptor) => {
    requireReflectMetadata('a guard decorator (@JwtRequired() and friends)');
    if (method === undefined) return protectClass(target as Function, requirement, optional, options);
    applyGuard(target, method, descriptor!, new Guard(requirement, optional, options));
  }) as GuardDecorator;
}

/**
 * An access token (fresh or not) is required. On a controller class, for every route
 * method that has no guard decorator of its own.
 *
 * @example @Get('/protected') @JwtRequired() protected() {}
 */
export function JwtRequired(options?: GuardOptions): GuardDecorator {
  return protect(ACCESS, false, options);
}

/** A fresh access token is required. @example @Post('/password') @FreshJwtRequired() change() {} */
export function FreshJwtRequired(options?: GuardOptions): GuardDecorator {
  return protect(FRESH_ACCESS, false, options);
}

/** A refresh token is required. @example @Post('/refresh') @RefreshRequired() refresh() {} */
export function RefreshRequired(options?: GuardOptions): GuardDecorator {
  return protect(REFRESH, false, options);
}

/**
 * No token runs the route anonymously (`@Identity()` is undefined); a token that
 * is present must still be valid. @example @Get('/feed') @JwtOptional() feed(@Identity() who?: string) {}
 */
export function JwtOptional(options?: GuardOptions): GuardDecorator {
  return protect(ACCESS, true, options);
}

function injector(kind: InjectedKind, read: (payload: TokenPayload | undefined) => unknown): ParameterDecorator {
  return (target, method, index) => {
    requireReflectMetadata('@Identity() / @Claims()');
    if (method === undefined) throw new TypeError('@Identity() and @Claims() decorate method parameters');
    if (!INJECTED.has(target)) INJECTED.set(target, new Map());
    INJECTED.get(target)!.set(method, [...injectedParams(target, method), { index, kind }]);
    createParamDecorator({ value: (action) => read(action.context.state.jwt as TokenPayload | undefined) })(target, method as string, index);
  };
}

/** Injects the token's identity. @example me(@Identity() username: string) {} */
export function Identity(): ParameterDecorator {
  return injector('identity', (payload) => payload?.[JwtManager.instance.config.identityClaim]);
}

/** Injects the verified payload (custom claims at the top level). @example me(@Claims() claims: JwtPayload<{ roles: string[] }>) {} */
export function Claims(): ParameterDecorator {
  return injector('claims', (payload) => payload);
}
