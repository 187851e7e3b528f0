/**
 * `koa-jwt-extended/opentelemetry` against the real OpenTelemetry SDK: metrics read through
 * the SDK's in-memory exporter, span events through its in-memory span exporter, requests
 * through a real HTTP server, store timings from a real redis-server.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality, DataPoint, Histogram, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  ALLOWED_CHANNEL, createAccessToken, createRefreshToken, JwtManager, jwtRequired, MemoryTokenStore, REFUSED_CHANNEL,
  RedisTokenStore, revokeAllTokens, revokeToken, rotateRefreshToken,
} from '../../src';
import { instrumentJwt, JwtInstrumentation } from '../../src/opentelemetry';
import { requireRedis, StandaloneRedis, startStandalone } from '../support/redis';

const SECRET = 'opentelemetry-spec-secret-0123456789abcdef';

interface Sdk {
  meterProvider: MeterProvider;
  metricExporter: InMemoryMetricExporter;
  reader: PeriodicExportingMetricReader;
  tracerProvider: BasicTracerProvider;
  spanExporter: InMemorySpanExporter;
}

function startSdk(): Sdk {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  return { meterProvider, metricExporter, reader, tracerProvider, spanExporter };
}

/** Every data point of the instrument `name` in the latest export. */
async function points(sdk: Sdk, name: string): Promise<DataPoint<number | Histogram>[]> {
  await sdk.reader.forceFlush();
  const exported = sdk.metricExporter.getMetrics().at(-1);
  const metric = exported?.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as DataPoint<number | Histogram>[];
}

/** The counter's value for exactly these attributes (0 when no point has them). */
async function counted(sdk: Sdk, name: string, attributes: Record<string, unknown>): Promise<number> {
  const point = (await points(sdk, name)).find((p) => JSON.stringify(sortKeys(p.attributes)) === JSON.stringify(sortKeys(attributes)));
  return (point?.value as number | undefined) ?? 0;
}

function sortKeys(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => a.localeCompare(b)));
}

/** A plain Koa app: a server span around every request (as HTTP instrumentation makes one), guarded routes. */
function listen(sdk: Sdk): Server {
  const tracer = sdk.tracerProvider.getTracer('spec');
  const app = new Koa();
  app.silent = true;
  app.use((ctx, next) => tracer.startActiveSpan(`GET ${ctx.path}`, (span) => Promise.resolve(next()).finally(() => span.end())));
  const router = new Router();
  router.get('/me', jwtRequired(), (ctx) => { ctx.body = { identity: ctx.state.jwt.sub }; });
  router.get('/created', jwtRequired(), (ctx) => { ctx.status = 201; ctx.body = {}; });
  router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => { ctx.body = await rotateRefreshToken(); });
  app.use(router.routes());
  return app.listen(0);
}

describe('opentelemetry: instrumentJwt() with the real SDK', () => {
  let sdk: Sdk;
  let instrumentation: JwtInstrumentation;
  let server: Server;
  const contextManager = new AsyncLocalStorageContextManager();

  before(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  after(() => {
    context.disable();
  });
  beforeEach(() => {
    sdk = startSdk();
    instrumentation = instrumentJwt({ meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider });
    JwtManager.configure({ secret: SECRET });
    server = listen(sdk);
  });
  afterEach(async () => {
    instrumentation.disable();
    server.close();
    JwtManager.reset();
    await sdk.meterProvider.shutdown();
  });

  it('counts allowed requests with the status the handler answered', async () => {
    const token = await createAccessToken('alice');
    assert.equal((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status, 200);
    assert.equal((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status, 200);
    assert.equal((await request(server).get('/created').set('Authorization', `Bearer ${token}`)).status, 201);
    assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'allowed', 'http.response.status_code': 200 }), 2);
    assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'allowed', 'http.response.status_code': 201 }), 1);
  });

  it('counts refused requests by reason and the status answered', async () => {
    const expired = await createAccessToken('alice', { expiresIn: -10 });
    const missing = await request(server).get('/me');
    const stale = await request(server).get('/me').set('Authorization', `Bearer ${expired}`);
    const junk = await request(server).get('/me').set('Authorization', 'Bearer not.a.token');
    assert.deepEqual([missing.status, stale.status, junk.status], [401, 401, 422]);
    assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'refused', 'jwt.reason': 'ERR_JWT_MISSING', 'http.response.status_code': 401 }), 1);
    assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'refused', 'jwt.reason': 'ERR_JWT_EXPIRED', 'http.response.status_code': 401 }), 1);
    const invalid = (await points(sdk, 'jwt.requests')).filter((p) => p.attributes['http.response.status_code'] === 422);
    assert.equal(invalid.length, 1);
    assert.match(String(invalid[0].attributes['jwt.reason']), /^ERR_JWT_/);
    assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'allowed', 'http.response.status_code': 200 }), 0);
  });

  it('records the status a loader chose, not the error\'s default', async () => {
    JwtManager.instance.expiredTokenLoader = () => ({ status: 200, body: { msg: 'The token has expired' } });
    const expired = await createAccessToken('alice', { expiresIn: -10 });
    assert.equal((await request(server).get('/me').set('Authorization', `Bearer ${expired}`)).status, 200);
    assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'refused', 'jwt.reason': 'ERR_JWT_EXPIRED', 'http.response.status_code': 200 }), 1);
  });

  it('adds a jwt.refused event with the reason to the active span of a refused request, none to an allowed one', async () => {
    const token = await createAccessToken('alice');
    await request(server).get('/me').set('Authorization', `Bearer ${token}`);
    await request(server).get('/me');
    const spans = sdk.spanExporter.getFinishedSpans().filter((span) => span.name === 'GET /me');
    assert.equal(spans.length, 2);
    assert.deepEqual(spans[0].events, []);
    assert.equal(spans[1].events.length, 1);
    assert.equal(spans[1].events[0].name, 'jwt.refused');
    assert.equal(spans[1].events[0].attributes?.['jwt.reason'], 'ERR_JWT_MISSING');
  });

  it('a refusal outside any span records the metric and adds no event anywhere', async () => {
    const token = await createAccessToken('alice', { expiresIn: -10 });
    await assert.rejects(JwtManager.instance.decodeToken(token));
    assert.equal(trace.getActiveSpan(), undefined);
    assert.equal(sdk.spanExporter.getFinishedSpans().length, 0);
  });

  it('counts revocations of each kind and a detected refresh-token reuse', async () => {
    const store = new MemoryTokenStore();
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', refreshRotation: true, reuseIntervalSeconds: 0 } });
    await revokeToken(await createAccessToken('alice'));
    await revokeToken(await createAccessToken('alice'));
    await revokeAllTokens('alice');
    const refresh = await createRefreshToken('bob');
    const rotated = await request(server).post('/refresh').set('Authorization', `Bearer ${refresh}`);
    assert.equal(rotated.status, 200);
    assert.equal(await counted(sdk, 'jwt.refresh.reuse_detected', {}), 0);
    const reused = await request(server).post('/refresh').set('Authorization', `Bearer ${refresh}`);
    assert.equal(reused.status, 401);
    assert.equal(await counted(sdk, 'jwt.revocations', { 'jwt.revocation.kind': 'token' }), 2);
    assert.equal(await counted(sdk, 'jwt.revocations', { 'jwt.revocation.kind': 'identity' }), 1);
    assert.equal(await counted(sdk, 'jwt.revocations', { 'jwt.revocation.kind': 'family' }), 1);
    assert.equal(await counted(sdk, 'jwt.refresh.reuse_detected', {}), 1);
  });

  it('disable() unsubscribes: the channels have no subscribers and nothing more is recorded', async () => {
    instrumentation.disable();
    assert.equal(diagnostics.channel(ALLOWED_CHANNEL).hasSubscribers, false);
    assert.equal(diagnostics.channel(REFUSED_CHANNEL).hasSubscribers, false);
    await request(server).get('/me');
    assert.equal((await points(sdk, 'jwt.requests')).length, 0);
  });
});

describe('opentelemetry: store timings from a real Redis', function () {
  let redis: StandaloneRedis;
  let sdk: Sdk;
  let instrumentation: JwtInstrumentation;
  let store: RedisTokenStore;

  before(async function () {
    requireRedis(this, true);
    redis = await startStandalone();
  });
  after(async () => {
    await redis?.server?.stop();
  });
  beforeEach(() => {
    sdk = startSdk();
    instrumentation = instrumentJwt({ meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider });
    store = new RedisTokenStore({ redis: redis.url, keyPrefix: `otel-${Date.now()}:`, commandTimeoutMs: 300 });
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all' } });
  });
  afterEach(async () => {
    instrumentation.disable();
    await store.close();
    JwtManager.reset();
    await sdk.meterProvider.shutdown();
  });

  it('records each store call in jwt.store.duration by operation, in seconds, with a span each', async () => {
    const token = await createAccessToken('alice');
    await JwtManager.instance.verifier.authorize(token, { type: 'access', fresh: false }, {});
    await revokeToken(token);
    const histogram = await points(sdk, 'jwt.store.duration');
    const operations = histogram.map((p) => p.attributes['jwt.store.operation']).sort();
    assert.ok(operations.includes('add'), `operations: ${operations}`);
    assert.ok(operations.includes('setRevoked'), `operations: ${operations}`);
    for (const point of histogram) {
      const value = point.value as Histogram;
      assert.ok(value.count >= 1);
      assert.ok(value.sum! > 0 && value.sum! < 1, `a Redis call on loopback takes well under a second: ${value.sum}`);
      assert.equal(point.attributes['error.type'], undefined);
    }
    const spans = sdk.spanExporter.getFinishedSpans().map((span) => span.name);
    assert.ok(spans.includes('jwt.store add') && spans.includes('jwt.store setRevoked'), `spans: ${spans}`);
  });

  it('a failed store call carries error.type', async function () {
    if (!redis.server) this.skip();
    await redis.server!.stop();
    try {
      await assert.rejects(createAccessToken('alice'));
    } finally {
      await redis.server!.start();
    }
    const failed = (await points(sdk, 'jwt.store.duration')).filter((p) => p.attributes['error.type'] !== undefined);
    assert.equal(failed.length, 1);
    // the first call of a token's creation reads the identity's cut-off
    assert.equal(failed[0].attributes['jwt.store.operation'], 'cutoff');
    // the root cause, not our wrapper's ERR_JWT_STORE
    assert.match(String(failed[0].attributes['error.type']), /^(MaxRetriesPerRequestError|ECONNREFUSED|ECONNRESET|Error)$/);
  });
});

describe('opentelemetry: instrumentJwt() without a MeterProvider (loaded but unobserved)', () => {
  afterEach(() => {
    metrics.disable();
    JwtManager.reset();
  });

  it('no SDK registered: nothing listens to allowed requests (they cost nothing), refusals still reach the active span', () => {
    const before = diagnostics.channel(ALLOWED_CHANNEL).hasSubscribers;
    const instrumentation = instrumentJwt();
    try {
      assert.equal(before, false);
      assert.equal(diagnostics.channel(ALLOWED_CHANNEL).hasSubscribers, false);
      assert.equal(diagnostics.channel(REFUSED_CHANNEL).hasSubscribers, true);
    } finally {
      instrumentation.disable();
    }
  });

  it('a MeterProvider registered globally first: allowed requests are counted (the refused case beside the allowed one)', async () => {
    const sdk = startSdk();
    metrics.setGlobalMeterProvider(sdk.meterProvider);
    const instrumentation = instrumentJwt();
    JwtManager.configure({ secret: SECRET });
    const server = listen(sdk);
    try {
      assert.equal(diagnostics.channel(ALLOWED_CHANNEL).hasSubscribers, true);
      const token = await createAccessToken('alice');
      assert.equal((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status, 200);
      assert.equal((await request(server).get('/me')).status, 401);
      assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'allowed', 'http.response.status_code': 200 }), 1);
      assert.equal(await counted(sdk, 'jwt.requests', { 'jwt.outcome': 'refused', 'jwt.reason': 'ERR_JWT_MISSING', 'http.response.status_code': 401 }), 1);
    } finally {
      instrumentation.disable();
      server.close();
      await sdk.meterProvider.shutdown();
    }
  });
});
