/**
 * Remote key sets seen from operations: `jwt.jwks.fetches` by outcome (the SDK's in-memory
 * exporter), and one `KJE_KEY_SET_UNAVAILABLE` warning when a set fails and one when it is back,
 * with a real HTTP JWK Set server failing and recovering.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { JwtManager } from '../../src';
import { jwksTiming } from '../../src/core/jwks';
import { instrumentJwt, JwtInstrumentation } from '../../src/opentelemetry';
import { idpToken, serveIdpApp } from '../support/idp-app';
import { JwksServer } from '../support/jwks-server';
import { testKey } from '../support/keys';

const DEFAULT_TIMING = { ...jwksTiming };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('opentelemetry: remote key sets (jwt.jwks.fetches, KJE_KEY_SET_UNAVAILABLE)', () => {
  let jwks: JwksServer;
  let server: Server;
  let exporter: InMemoryMetricExporter;
  let reader: PeriodicExportingMetricReader;
  let meterProvider: MeterProvider;
  let instrumentation: JwtInstrumentation;
  let warnings: Error[];
  const onWarning = (warning: Error) => {
    if ((warning as Error & { code?: string }).code === 'KJE_KEY_SET_UNAVAILABLE') warnings.push(warning);
  };

  beforeEach(async () => {
    warnings = [];
    process.on('warning', onWarning);
    exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    meterProvider = new MeterProvider({ readers: [reader] });
    instrumentation = instrumentJwt({ meterProvider });
    jwks = await JwksServer.start();
    jwks.publish([{ kid: 'a', key: testKey('p256').publicKey, alg: 'ES256' }]);
    jwksTiming.firstBackoffMs = 100;
    server = serveIdpApp({ algorithm: 'ES256', jwksUri: jwks.url, acceptUntypedTokens: true, jwksCooldown: '1s' });
  });
  afterEach(async () => {
    process.off('warning', onWarning);
    instrumentation.disable();
    server.close();
    JwtManager.reset();
    await jwks.stop();
    await meterProvider.shutdown();
    Object.assign(jwksTiming, DEFAULT_TIMING);
  });

  const me = (token: string) => request(server).get('/me').set('Authorization', `Bearer ${token}`);
  const good = () => idpToken('ES256', testKey('p256').privateKey, { kid: 'a' });

  async function fetchesBy(outcome: string): Promise<number> {
    await reader.forceFlush();
    const metric = exporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'jwt.jwks.fetches');
    return (metric?.dataPoints.find((p) => p.attributes['jwt.jwks.outcome'] === outcome)?.value as number | undefined) ?? 0;
  }

  it('a failing set: error fetches counted, one warning for its outage start and one for its end', async () => {
    jwks.mode = 'error';
    for (let i = 0; i < 10; i += 1) assert.equal((await me(good())).status, 503);
    await sleep(10);
    assert.ok((await fetchesBy('error')) >= 1);
    assert.equal(await fetchesBy('error'), jwks.fetches, 'every outbound fetch is counted, no more');
    assert.equal(warnings.length, 1, warnings.map(String).join('\n'));
    assert.match(warnings[0].message, /key set http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json is unavailable .*503 until it recovers/);
    jwks.mode = 'ok';
    let status = 0;
    for (let i = 0; i < 30 && status !== 200; i += 1) {
      status = (await me(good())).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200);
    await sleep(10);
    assert.equal(await fetchesBy('success'), 1);
    assert.equal(warnings.length, 2, warnings.map(String).join('\n'));
    assert.match(warnings[1].message, /is available again after \d+\.\d s/);
  });

  it('a healthy set: one success fetch, no warning', async () => {
    assert.equal((await me(good())).status, 200);
    assert.equal((await me(good())).status, 200);
    await sleep(10);
    assert.equal(await fetchesBy('success'), 1);
    assert.equal(await fetchesBy('error'), 0);
    assert.equal(warnings.length, 0);
  });
});
