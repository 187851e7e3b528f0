/**
 * A store outage is visible without any setup: one process warning when it begins, one when it
 * ends, never one per request, with a real redis-server stopped and restarted.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { createAccessToken, JwtManager, jwtRequired, RedisTokenStore, STORE_ERROR_CHANNEL } from '../../src';
import { requireRedis, StandaloneRedis, startStandalone } from '../support/redis';

const SECRET = 'outage-warnings-spec-secret-0123456789abc';

describe('store outage warnings (process.emitWarning, KJE_STORE_UNAVAILABLE), real Redis stopped and restarted', function () {
  let redis: StandaloneRedis;
  let store: RedisTokenStore;
  let server: Server;
  let warnings: Error[];
  const onWarning = (warning: Error) => {
    if ((warning as Error & { code?: string }).code === 'KJE_STORE_UNAVAILABLE') warnings.push(warning);
  };

  before(async function () {
    requireRedis(this, true);
    redis = await startStandalone();
    if (!redis.server) this.skip(); // REDIS_URL: we may not stop that server
  });
  after(async () => {
    await redis?.server?.stop();
  });
  beforeEach(() => {
    warnings = [];
    process.on('warning', onWarning);
    store = new RedisTokenStore({ redis: redis.url, keyPrefix: `outage-${Date.now()}:`, commandTimeoutMs: 300 });
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', mode: 'blocklist' } }); // a restarted Redis is empty: blocklist reads that as valid
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.get('/me', jwtRequired(), (ctx) => { ctx.body = { identity: ctx.state.jwt.sub }; });
    app.use(router.routes());
    server = app.listen(0);
  });
  afterEach(async () => {
    process.off('warning', onWarning);
    server.close();
    await store.close();
    JwtManager.reset();
  });

  /** Lets process warnings (emitted on the next tick) arrive. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('one warning when the outage begins and one when it ends, whatever the number of requests', async () => {
    const token = await createAccessToken('alice');
    assert.equal((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status, 200);
    await redis.server!.stop();
    try {
      for (let i = 0; i < 10; i += 1) {
        const refused = await request(server).get('/me').set('Authorization', `Bearer ${token}`);
        assert.equal(refused.status, 503);
        assert.deepEqual(refused.body, { msg: 'Token revocation store unavailable' });
      }
      await settle();
      assert.equal(warnings.length, 1, warnings.map(String).join('\n'));
      assert.match(warnings[0].message, /revocation store is unavailable .*503 until it recovers/);
    } finally {
      await redis.server!.start();
    }
    // ioredis reconnects by itself; the first request that reaches the store again ends the outage
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i += 1) {
      status = (await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 200);
    for (let i = 0; i < 5; i += 1) await request(server).get('/me').set('Authorization', `Bearer ${token}`);
    await settle();
    assert.equal(warnings.length, 2, warnings.map(String).join('\n'));
    assert.match(warnings[1].message, /revocation store is available again after \d+\.\d s/);
  });

  it('no warning while the store answers', async () => {
    const token = await createAccessToken('alice');
    for (let i = 0; i < 5; i += 1) assert.equal((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status, 200);
    await settle();
    assert.equal(warnings.length, 0);
  });

  it('no warning when the app subscribes to the store-error channel (it logs the outage itself)', async () => {
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    diagnostics.subscribe(STORE_ERROR_CHANNEL, listener);
    try {
      const token = await createAccessToken('alice');
      await redis.server!.stop();
      try {
        assert.equal((await request(server).get('/me').set('Authorization', `Bearer ${token}`)).status, 503);
      } finally {
        await redis.server!.start();
      }
      await settle();
      assert.ok(seen.length >= 1);
      assert.equal(warnings.length, 0);
    } finally {
      diagnostics.unsubscribe(STORE_ERROR_CHANNEL, listener);
    }
  });
});
