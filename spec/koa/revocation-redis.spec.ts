import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Redis from 'ioredis';
import request from 'supertest';
import { createKoaServer, Get, JsonController, Post } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, Identity, JwtManager, JwtRequired, RefreshRequired, revokeToken,
  TieredTokenStore, TokenStoreError, unrevokeToken,
} from '../../src';
import { authHeader, tamperToken } from '../../src/testing';
import { commandCalls, flush, requireRedis, sleep, StandaloneRedis, startStandalone, trackUnhandledRejections } from '../support/redis';

const SECRET = 'revocation-redis-spec-secret-32-bytes!!';

@JsonController('/redis-revocation')
class RevocationController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() username: string) {
    return { username };
  }

  @Post('/refresh')
  @RefreshRequired()
  refresh(@Identity() username: string) {
    return { refreshed: username };
  }
}

const decodeJti = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti as string;

for (const redisThread of ['main', 'worker'] as const)
describe(`revocation through HTTP on the tiered Redis store (real redis-server), its connections in the ${redisThread} thread`, function () {
  let redis: StandaloneRedis;
  let admin: Redis;
  let store: TieredTokenStore;
  let server: Server;

  before(async function () {
    requireRedis(this);
    redis = await startStandalone();
    admin = new Redis(redis.url);
    admin.on('error', () => undefined); // the restart test stops the server under it
  });
  after(async () => {
    admin?.disconnect();
    await redis?.server?.stop();
  });
  beforeEach(async () => {
    await flush(admin);
    store = new TieredTokenStore({ redis: redis.url, keyPrefix: 'http:', commandTimeoutMs: 500, redisThread });
    for (const started = Date.now(); !store.isLinkUp && Date.now() - started < 5000;) await sleep(10);
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all' } });
    server = createKoaServer({ controllers: [RevocationController] }).listen(0);
  });
  afterEach(async () => {
    server.close();
    await store.close();
    JwtManager.reset();
  });

  it('a token revoked through another instance is refused here', async () => {
    const token = await createAccessToken('alice');
    assert.equal((await request(server).get('/redis-revocation/me').set(authHeader(token))).status, 200); // now cached locally
    const otherInstance = new TieredTokenStore({ redis: redis.url, keyPrefix: 'http:' });
    try {
      await otherInstance.setRevoked(decodeJti(token), true);
      // through the invalidation channel, long before the local entry's ttlMs (5 s)
      let res!: request.Response;
      for (const started = Date.now(); Date.now() - started < 2000; await sleep(20)) {
        res = await request(server).get('/redis-revocation/me').set(authHeader(token));
        if (res.status !== 200) break;
      }
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Token has been revoked' });
    } finally {
      await otherInstance.close();
    }
  });

  it('revokeToken and unrevokeToken round-trip through Redis', async () => {
    const refresh = await createRefreshToken('bob');
    await revokeToken(decodeJti(refresh));
    let res = await request(server).post('/redis-revocation/refresh').set(authHeader(refresh));
    assert.deepEqual([res.status, res.body], [401, { msg: 'Token has been revoked' }]);
    await unrevokeToken(decodeJti(refresh));
    res = await request(server).post('/redis-revocation/refresh').set(authHeader(refresh));
    assert.deepEqual([res.status, res.body], [200, { refreshed: 'bob' }]);
  });

  it('forged tokens cost no Redis command', async () => {
    const token = await createAccessToken('carol');
    const before = await commandCalls(admin, 'get');
    for (let i = 0; i < 20; i += 1) {
      const forged = tamperToken(token, { sub: 'carol', jti: `forged-${i}` });
      const res = await request(server).get('/redis-revocation/me').set(authHeader(forged));
      assert.deepEqual([res.status, res.body], [422, { msg: 'Signature verification failed' }]);
    }
    assert.equal(await commandCalls(admin, 'get'), before);
  });

  it('Redis stopped: 503 within the bounded time, token creation rejects; back after restart', async function () {
    if (!redis.server) this.skip(); // REDIS_URL: we cannot stop someone else's server
    const unhandled = trackUnhandledRejections();
    const token = await createAccessToken('dave');
    try {
      await redis.server!.stop();
      // the link reports down, so the local tier is bypassed
      for (const started = Date.now(); store.isLinkUp && Date.now() - started < 5000;) await sleep(20);
      assert.equal(store.isLinkUp, false);
      const started = Date.now();
      const res = await request(server).get('/redis-revocation/me').set(authHeader(token));
      assert.deepEqual([res.status, res.body], [503, { msg: 'Token revocation store unavailable' }]);
      assert.ok(Date.now() - started < 1500, `answered after ${Date.now() - started} ms`);
      await assert.rejects(createAccessToken('dave'), TokenStoreError);
      await redis.server!.start(); // an empty Redis (no persistence): old records are gone
      let fresh: string | undefined;
      for (let i = 0; i < 60 && fresh === undefined; i += 1) {
        await sleep(100);
        fresh = await createAccessToken('dave').catch(() => undefined);
      }
      assert.ok(fresh, 'token creation did not come back after the restart');
      const back = await request(server).get('/redis-revocation/me').set(authHeader(fresh));
      assert.deepEqual([back.status, back.body], [200, { username: 'dave' }]);
      assert.deepEqual(unhandled.reasons, []);
    } finally {
      unhandled.stop();
      if (redis.server) await redis.server.start().catch(() => undefined);
    }
  });
});
