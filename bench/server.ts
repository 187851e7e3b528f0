/**
 * One benchmark server per process: `node server.js <mode> [redisUrl]` (compiled by
 * bench/runtime.ts). Prints `READY <port> <token> <path>` once listening. When started
 * with an IPC channel (the memory bench) it answers `'heap'` with its heap after a full GC
 * (needs `--expose-gc`); the load and profile benches start it without one. Modes:
 *   open      a routing-controllers route, no auth
 *   open-in-app  the open route of an app that also has protected routes (request context active)
 *   jwt       the same route behind @JwtRequired()
 *   jwt-nocontext  the same with requestContext: false (no AsyncLocalStorage)
 *   jwt-otel  the same with instrumentJwt() recording into the OpenTelemetry SDK
 *   jwt-otel-loaded  the same with the OpenTelemetry API and our instrumentation module loaded, instrumentJwt() not called
 *   jwt-otel-unobserved  the same with instrumentJwt() called and no SDK (the API's no-op providers)
 *   revoked   @JwtRequired() with revocation checks 'all' on the tiered store (needs redisUrl)
 *   koajwt    koa-jwt (KeyObject secret) in front of the open route
 *   koajwt-string  koa-jwt with a string secret, as its README shows
 *   open-proof  the open route plus the route proof's parameter alone (an experiment)
 *   revoked-worker  revoked with the store's Redis connections in a worker thread (redisThread: 'worker')
 *   revoked-refresh  the tiered store connected, checks 'refresh' (an access token never asks it; an experiment)
 *   revoked-memory  checks 'all' on the embedded MemoryTokenStore (an experiment)
 *   open-layer  the open route behind one pass-through route middleware (what a middleware layer costs)
 *   open-router15 / jwt-router15  open / jwt with @koa/router 15 handed to routing-controllers' KoaDriver
 *   dpop-es256 / dpop-eddsa / dpop-rs256  @JwtRequired() with a DPoP-bound token and a proof per request
 *              (memory replay cache); READY also prints the proof key (PKCS#8 PEM, base64url)
 */
import 'reflect-metadata';
import { createSecretKey, generateKeyPairSync, KeyPairKeyObjectResult } from 'node:crypto';
import { createServer } from 'node:http';
import Koa from 'koa';
import koaJwt from 'koa-jwt';
import { createExecutor, createParamDecorator, Get, JsonController, KoaDriver, UseBefore, useKoaServer } from 'routing-controllers';
import { BENCH_SECRET } from './secret';
import { createAccessToken, JwtManager, JwtOptions, JwtRequired, MemoryTokenStore, TieredTokenStore } from '../src';
import { dpopThumbprint } from '../src/testing';


@JsonController()
class OpenController {
  @Get('/open')
  hello() {
    return { hello: 'world' };
  }
}

/**
 * The protected controller, declared on first use only: an app that declares a guard anywhere gives
 * its open routes the request context (a guarded method they call is checked against the request),
 * so the open variants (a, p, l, d, a15) must not declare one to stay an app without guards.
 */
let protectedController: Function | undefined;
function ProtectedController(): Function {
  if (protectedController) return protectedController;
  @JsonController()
  class ProtectedController {
    @Get('/protected')
    @JwtRequired()
    hello() {
      return { hello: 'world' };
    }
  }
  return (protectedController = ProtectedController);
}

/**
 * An experiment, not a feature: the open route with the route proof's mechanism alone,
 * a parameter routing-controllers resolves on every request (an async normalisation,
 * a promise per parameter) and a wrapper that drops it before calling the method.
 * `p - a` is what carrying the proof costs a protected route.
 */
@JsonController()
class OpenWithProofParameterController {
  @Get('/open')
  hello() {
    return { hello: 'world' };
  }
}
const PROOF = Symbol('bench-proof');
createParamDecorator({ value: (action) => (action.context.state as Record<symbol, unknown>)[PROOF] })(OpenWithProofParameterController.prototype, 'hello', 1_000_000);
const withoutProof = OpenWithProofParameterController.prototype.hello;
OpenWithProofParameterController.prototype.hello = function hello(this: unknown, ...args: unknown[]) {
  return withoutProof.apply(this, args.slice(0, -1) as []);
};

/** An experiment: the open route behind one route middleware that only calls `next`. */
@JsonController()
class OpenBehindLayerController {
  @Get('/open')
  @UseBefore((_ctx: unknown, next: () => Promise<unknown>) => next())
  hello() {
    return { hello: 'world' };
  }
}

async function revocationOptions(redisUrl: string | undefined, redisThread: 'main' | 'worker' = 'main'): Promise<Partial<JwtOptions>> {
  if (!redisUrl) throw new Error('mode revoked needs a redis URL');
  // BENCH_TIER_TTL_MS: under valgrind a request takes milliseconds, so the 5 s default would expire hits mid-run
  const ttlMs = process.env.BENCH_TIER_TTL_MS === undefined ? undefined : Number(process.env.BENCH_TIER_TTL_MS);
  // BENCH_LEASE_MS: valgrind stalls the process for seconds (a JIT compilation on the one thread); with the 3 s default
  // lease the server gives its tier up mid-window and serves misses from Redis. A 60 s lease still beats every 20 s.
  const livenessLeaseMs = process.env.BENCH_LEASE_MS === undefined ? undefined : Number(process.env.BENCH_LEASE_MS);
  const store = new TieredTokenStore({ redis: redisUrl, ttlMs, livenessLeaseMs, redisThread });
  // BENCH_WAIT_LINK=1: READY only once the tier is in use (the first requests are then all tier hits). Off by
  // default: on Node 24 under callgrind such a server settles at ~+19 % per request (bench/README.md, target 1)
  if (process.env.BENCH_WAIT_LINK === '1') for (const started = Date.now(); !store.isLinkUp && Date.now() - started < 30_000;) await new Promise((resolve) => setTimeout(resolve, 10));
  return { revocation: { store, checks: 'all' } };
}

/** What the memory bench asks over IPC between rounds. */
function answerSideChannel(requestsServed: () => number): void {
  process.on('message', (message: string) => {
    if (message === 'heap') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send!({ heapUsed: process.memoryUsage().heapUsed, requests: requestsServed() });
    }
  });
}

/** Variant bo: instrumentJwt() recording into the OpenTelemetry SDK (a MeterProvider with a reader that never exports). */
async function instrumentWithSdk(): Promise<void> {
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const { instrumentJwt } = require('../src/opentelemetry') as typeof import('../src/opentelemetry');
  class QuietReader extends MetricReader {
    protected async onForceFlush(): Promise<void> {}
    protected async onShutdown(): Promise<void> {}
  }
  instrumentJwt({ meterProvider: new MeterProvider({ readers: [new QuietReader()] }) });
}

/**
 * Variants bl and bu: the OpenTelemetry API and `koa-jwt-extended/opentelemetry` loaded, no SDK:
 * bl never calls instrumentJwt(); bu calls it with the global providers, which no SDK registered
 * (the API's no-op meter and tracer): loaded but unobserved.
 */
function loadInstrumentation(call: boolean): void {
  require('@opentelemetry/api');
  const { instrumentJwt } = require('../src/opentelemetry') as typeof import('../src/opentelemetry');
  if (call) instrumentJwt();
}

/** DPoP variants: `dpop-es256`, `dpop-eddsa`, `dpop-rs256`: the proof key's algorithm. */
const DPOP_KEYS: Record<string, () => KeyPairKeyObjectResult> = {
  'dpop-es256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'dpop-eddsa': () => generateKeyPairSync('ed25519'),
  'dpop-rs256': () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
};

async function main(): Promise<void> {
  const [mode, redisUrl] = process.argv.slice(2);
  const extra = mode === 'revoked' ? await revocationOptions(redisUrl)
    : mode === 'revoked-worker' ? await revocationOptions(redisUrl, 'worker')
    : mode === 'revoked-refresh' ? { revocation: { ...(await revocationOptions(redisUrl)).revocation!, checks: 'refresh' as const } }
    : mode === 'revoked-memory' ? { revocation: { store: new MemoryTokenStore(), checks: 'all' as const } }
    : mode === 'jwt-nocontext' ? { requestContext: false }
    : mode.startsWith('dpop-') ? { dpop: {} } : {};
  JwtManager.configure({ secret: BENCH_SECRET, ...extra });
  if (mode === 'jwt-otel') await instrumentWithSdk();
  if (mode === 'jwt-otel-loaded' || mode === 'jwt-otel-unobserved') loadInstrumentation(mode === 'jwt-otel-unobserved');
  const app = new Koa();
  if (mode === 'koajwt') app.use(koaJwt({ secret: createSecretKey(Buffer.from(BENCH_SECRET)) as never, algorithms: ['HS256'] }));
  if (mode === 'koajwt-string') app.use(koaJwt({ secret: BENCH_SECRET, algorithms: ['HS256'] }));
  const guarded = mode === 'jwt' || mode === 'jwt-router15' || mode.startsWith('jwt-otel') || mode.startsWith('revoked') || mode === 'jwt-nocontext' || mode.startsWith('dpop-');
  const controllers =
    mode === 'open-in-app' ? [OpenController, ProtectedController()] : mode === 'open-proof' ? [OpenWithProofParameterController] : mode === 'open-layer' ? [OpenBehindLayerController] : [guarded ? ProtectedController() : OpenController];
  if (mode.endsWith('-router15')) {
    // routing-controllers' Koa driver with a router it is handed: @koa/router 15 (the koa-router-15 alias)
    const Router15 = require('koa-router-15') as { new (): unknown; default?: new () => unknown };
    const Router = Router15.default ?? Router15;
    createExecutor(new KoaDriver(app, new Router()), { controllers });
  } else {
    useKoaServer(app, { controllers });
  }
  // a DPoP variant binds the token to a key made here; the client gets the private key to sign its proofs
  const proofKey = DPOP_KEYS[mode]?.();
  const token = await createAccessToken('bench-user', proofKey ? { dpopJkt: await dpopThumbprint(proofKey.privateKey) } : undefined);
  const proofKeyField = proofKey ? ` ${Buffer.from(proofKey.privateKey.export({ format: 'pem', type: 'pkcs8' })).toString('base64url')}` : '';
  const handle = app.callback();
  let served = 0;
  const server = createServer((request, response) => {
    served += 1;
    return handle(request, response);
  });
  if (process.send) answerSideChannel(() => served);
  server.listen(0, '127.0.0.1', async () => {
    const address = server.address() as { port: number };
    // one protected request turns the request context (AsyncLocalStorage) on, as in any app using it
    if (mode === 'open-in-app') await fetch(`http://127.0.0.1:${address.port}/protected`, { headers: { authorization: `Bearer ${token}` } });
    console.log(`READY ${address.port} ${token} ${guarded ? '/protected' : '/open'}${proofKeyField}`);
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

// exit cleanly so `node --cpu-prof` can write its profile
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
