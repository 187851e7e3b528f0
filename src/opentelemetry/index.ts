/**
 * `koa-jwt-extended/opentelemetry`: the library's diagnostics channels as OpenTelemetry
 * metrics and span events. Nothing here is on the request path until `instrumentJwt()` is
 * called: the library publishes only to channels that have subscribers.
 *
 * @example
 * import { instrumentJwt } from 'koa-jwt-extended/opentelemetry';
 * instrumentJwt(); // the global MeterProvider and the active span, as the OpenTelemetry SDK set them up
 */
import diagnostics from 'node:diagnostics_channel';
import { createNoopMeter, metrics, trace, type Attributes, type Counter, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import {
  ALLOWED_CHANNEL, JWKS_FETCH_CHANNEL, REFUSED_CHANNEL, REUSE_CHANNEL, REVOCATION_CHANNEL, STORE_CALL_CHANNEL,
  type AllowedMessage, type JwksFetchMessage, type RefusedMessage, type RevocationMessage, type StoreCallMessage,
} from '../core/diagnostics';

/** The instrumentation scope's name, as dashboards filter by it. */
export const INSTRUMENTATION_NAME = 'koa-jwt-extended';

/**
 * The OpenTelemetry providers to report to (default: the global ones).
 */
export interface InstrumentJwtOptions {
  /** Where the instruments are created; default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /**
   * Where store-call spans are created (`jwt.store <operation>`, children of the active span);
   * default: the global one. `jwt.refused` events go to the active span whichever provider made it.
   */
  tracerProvider?: TracerProvider;
}

/** What `instrumentJwt()` returns: `disable()` unsubscribes everything (tests, hot reload). */
export interface JwtInstrumentation {
  disable(): void;
}

/** Buckets for store latencies, in seconds: 0.1 ms (memory) to 2.5 s (a Redis that hangs). */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Whether `counter` is the API's no-op counter: the meter came from no MeterProvider (none given,
 * no SDK registered globally; the metrics API has no proxy, so it never becomes a real one).
 */
function isNoopCounter(counter: Counter): boolean {
  return Object.getPrototypeOf(counter) === Object.getPrototypeOf(createNoopMeter().createCounter(INSTRUMENTATION_NAME));
}

/** The Koa context's response, when there is one to wait for. */
interface HasResponse {
  res?: { once(event: 'finish' | 'close', listener: () => void): unknown; statusCode?: number };
  status?: number;
}

/** The `error.type` attribute (OpenTelemetry semantic conventions): a code when the error has one, else its class. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return error instanceof Error ? error.name : '_OTHER';
}

/** The `error.type` of a store failure: its root cause's (`ECONNREFUSED`, `MaxRetriesPerRequestError`), not our wrapper's. */
function storeErrorType(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error && current.cause !== undefined; depth += 1) current = current.cause;
  return errorType(current);
}

/**
 * Subscribes to the library's diagnostics channels and records, with `@opentelemetry/api`
 * (with no MeterProvider, given or registered, the allowed requests are not listened to at all,
 * so an unobserved guard costs what it costs without the instrumentation):
 * - `jwt.requests` (counter): every guarded request, `jwt.outcome` `allowed | refused`,
 *   `jwt.reason` (the refusal's error code, e.g. `ERR_JWT_EXPIRED`), `http.response.status_code`;
 * - `jwt.store.duration` (histogram, seconds): every call into the revocation store,
 *   `jwt.store.operation`, and `error.type` when it failed;
 * - `jwt.revocations` (counter): `jwt.revocation.kind` `token | identity | family`;
 * - `jwt.refresh.reuse_detected` (counter): a used refresh token presented again;
 * - `jwt.jwks.fetches` (counter): key set and metadata fetches, `jwt.jwks.outcome` `success | error`;
 * - on a refusal, an event `jwt.refused` (with `jwt.reason`) on the active span, if any.
 *
 * @example
 * import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
 * const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter })] });
 * const instrumentation = instrumentJwt({ meterProvider });
 * // ... later, in a test: instrumentation.disable()
 */
export function instrumentJwt(options: InstrumentJwtOptions = {}): JwtInstrumentation {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
  const requests = meter.createCounter('jwt.requests', {
    description: 'Requests a JWT guard decided, by outcome and refusal reason',
    unit: '{request}',
  });
  const storeDuration = meter.createHistogram('jwt.store.duration', {
    description: 'Duration of calls into the revocation store',
    unit: 's',
    advice: { explicitBucketBoundaries: STORE_BUCKETS },
  });
  const revocations = meter.createCounter('jwt.revocations', { description: 'Revocations the store confirmed, by kind', unit: '{revocation}' });
  const reuses = meter.createCounter('jwt.refresh.reuse_detected', {
    description: 'Used refresh tokens presented again (each revokes its family)',
    unit: '{detection}',
  });
  const fetches = meter.createCounter('jwt.jwks.fetches', { description: 'Fetches of remote key sets and their metadata, by outcome', unit: '{fetch}' });

  const onAllowed = (message: unknown): void => {
    const { ctx } = message as AllowedMessage;
    const response = (ctx as HasResponse | undefined)?.res;
    // the status is the handler's: known once the response is sent
    if (response === undefined) {
      requests.add(1, { 'jwt.outcome': 'allowed' });
      return;
    }
    let counted = false;
    const count = (): void => {
      if (counted) return;
      counted = true;
      requests.add(1, { 'jwt.outcome': 'allowed', 'http.response.status_code': response.statusCode ?? 0 });
    };
    response.once('finish', count);
    response.once('close', count);
  };

  const onRefused = (message: unknown): void => {
    const { error, status } = message as RefusedMessage;
    const reason = errorType(error);
    const attributes: Attributes = { 'jwt.outcome': 'refused', 'jwt.reason': reason };
    const answered = status ?? (error as { status?: unknown }).status;
    if (typeof answered === 'number') attributes['http.response.status_code'] = answered;
    requests.add(1, attributes);
    trace.getActiveSpan()?.addEvent('jwt.refused', { 'jwt.reason': reason, 'exception.message': error.message });
  };

  const onStoreCall = (message: unknown): void => {
    const { operation, duration, error } = message as StoreCallMessage;
    const attributes: Attributes = { 'jwt.store.operation': operation };
    if (error !== undefined) attributes['error.type'] = storeErrorType(error);
    storeDuration.record(duration, attributes);
    const end = performance.timeOrigin + performance.now();
    const span = tracer.startSpan(`jwt.store ${operation}`, { startTime: end - duration * 1000, attributes });
    if (error !== undefined) span.setStatus({ code: 2 /* SpanStatusCode.ERROR */, message: storeErrorType(error) });
    span.end(end);
  };

  const onRevocation = (message: unknown): void => {
    revocations.add(1, { 'jwt.revocation.kind': (message as RevocationMessage).kind });
  };

  const onReuse = (): void => {
    reuses.add(1);
  };

  const onFetch = (message: unknown): void => {
    fetches.add(1, { 'jwt.jwks.outcome': (message as JwksFetchMessage).outcome });
  };

  const subscriptions: Array<[string, (message: unknown, name: string | symbol) => void]> = [
    // an allowed request only adds to jwt.requests: with a no-op meter nothing listens, and an unobserved request costs nothing
    ...(isNoopCounter(requests) ? [] : [[ALLOWED_CHANNEL, onAllowed] as [string, (message: unknown) => void]]),
    [REFUSED_CHANNEL, onRefused],
    [STORE_CALL_CHANNEL, onStoreCall],
    [REVOCATION_CHANNEL, onRevocation],
    [REUSE_CHANNEL, onReuse],
    [JWKS_FETCH_CHANNEL, onFetch],
  ];
  for (const [name, listener] of subscriptions) diagnostics.subscribe(name, listener);
  let enabled = true;
  return {
    disable() {
      if (!enabled) return;
      enabled = false;
      for (const [name, listener] of subscriptions) diagnostics.unsubscribe(name, listener);
    },
  };
}
