/**
 * The setup docs/opentelemetry.md shows, run as written: the OpenTelemetry SDK with its
 * Prometheus exporter, a guarded route, and a scrape of what Prometheus would read.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { createAccessToken, JwtManager, jwtRequired } from '../../src';
import { instrumentJwt } from '../../src/opentelemetry';
import { freePort } from '../support/redis';

describe('opentelemetry: the documented Prometheus setup, scraped', () => {
  let exporter: PrometheusExporter;
  let meterProvider: MeterProvider;
  let server: Server;
  let port: number;
  let disable: () => void;

  before(async () => {
    port = await freePort();
    // as docs/opentelemetry.md writes it
    exporter = new PrometheusExporter({ port });
    meterProvider = new MeterProvider({ readers: [exporter] });
    disable = instrumentJwt({ meterProvider }).disable;
    JwtManager.configure({ secret: 'prometheus-spec-secret-0123456789abcdef!' });
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.get('/me', jwtRequired(), (ctx) => { ctx.body = { identity: ctx.state.jwt.sub }; });
    app.use(router.routes());
    server = app.listen(0);
  });
  after(async () => {
    disable();
    server.close();
    JwtManager.reset();
    await meterProvider.shutdown();
  });

  it('exposes jwt_requests_total by outcome and reason on /metrics', async () => {
    const token = await createAccessToken('alice');
    await request(server).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    await request(server).get('/me').expect(401);
    const scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const lines = scraped.split('\n').filter((line) => line.startsWith('jwt_requests'));
    assert.ok(lines.some((l) => /jwt_outcome="allowed"/.test(l) && /http_response_status_code="200"/.test(l) && / 1$/.test(l)), scraped);
    assert.ok(lines.some((l) => /jwt_outcome="refused"/.test(l) && /jwt_reason="ERR_JWT_MISSING"/.test(l) && / 1$/.test(l)), scraped);
  });
});
