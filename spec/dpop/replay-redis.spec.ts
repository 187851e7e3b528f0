/**
 * The replay cache across processes (DESIGN 0.3 K, RFC 9449 §11.1): two app instances, one of
 * them another OS process, share a real redis-server; a proof accepted by one is a replay at
 * the other. Redis down: 503, never accepted.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import Redis from 'ioredis';
import request from 'supertest';
import { JwtManager, RedisTokenStore, TieredTokenStore } from '../../src';
import { dpopProof, dpopThumbprint, fakeAccessToken } from '../../src/testing';
import { flush, requireRedis, StandaloneRedis, startStandalone } from '../support/redis';
import { ecKey, SECRET, Started, startDpopApp } from './support';

const ORIGIN = 'https://api.example.com';

function startInstance(url: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'spec/dpop/redis-instance.ts'], {
    env: { ...process.env, REDIS_URL: url, KEY_PREFIX: 'dpop:', TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
    child.stdout!.once('data', (data: Buffer) => resolve({ child, port: Number(String(data).trim()) }));
  });
}

describe('DPoP: the replay cache on a real Redis, across processes', function () {
  this.timeout(60_000);
  let redis: StandaloneRedis;
  let admin: Redis;
  let other: { child: ChildProcess; port: number };
  let app: Started;
  let store: RedisTokenStore | TieredTokenStore;
  const key = ecKey();

  before(async function () {
    requireRedis(this, true);
    redis = await startStandalone();
    admin = new Redis(redis.url);
    admin.on('error', () => undefined); // down on purpose in some tests
    other = await startInstance(redis.url);
  });
  after(async () => {
    if (other) {
      other.child.kill('SIGTERM');
      await once(other.child, 'exit');
    }
    admin?.disconnect();
    await redis?.server?.stop();
  });
  afterEach(async () => {
    app?.server.close();
    await store?.close();
    JwtManager.reset();
  });

  for (const kind of ['RedisTokenStore', 'TieredTokenStore'] as const) {
    describe(`here on a ${kind}`, () => {
      beforeEach(async () => {
        await flush(admin);
        const options = { redis: redis.url, keyPrefix: 'dpop:', commandTimeoutMs: 500 };
        store = kind === 'RedisTokenStore' ? new RedisTokenStore(options) : new TieredTokenStore(options);
        app = await startDpopApp({ revocation: { store, checks: 'all', mode: 'blocklist' }, dpop: { origin: ORIGIN } });
      });

      const send = async (server: string | Started['server'], token: string, proof: string) =>
        request(server).get('/me').set('Authorization', `DPoP ${token}`).set('DPoP', proof);

      it('a proof accepted here is refused there (another process), and the other way round', async () => {
        const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
        const there = `http://127.0.0.1:${other.port}`;
        const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token });
        assert.equal((await send(app.server, token, proof)).status, 200);
        const replayed = await send(there, token, proof);
        assert.equal(replayed.status, 401);
        assert.deepEqual(replayed.body, { msg: 'Invalid DPoP proof' });
        const second = await dpopProof(key.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token });
        assert.equal((await send(there, token, second)).status, 200);
        assert.equal((await send(app.server, token, second)).status, 401);
        // the record is in Redis, under the key's thumbprint, with an expiry
        const recordKey = `dpop:o:{${await dpopThumbprint(key.privateKey)}}`;
        assert.equal(await admin.zcard(recordKey), 2);
        const ttl = await admin.pttl(recordKey);
        assert.ok(ttl > 55_000 && ttl <= 66_000, `pttl ${ttl}`);
      });

      it('one proof sent to both instances at once 20 times: exactly one passes', async () => {
        const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
        const proof = await dpopProof(key.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token });
        const there = `http://127.0.0.1:${other.port}`;
        const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i % 2 ? there : app.server, token, proof)));
        assert.deepEqual(responses.map((r) => r.status).sort(), [200, ...Array(19).fill(401)]);
      });

      it('the per-key bound refuses (never forgets): a full key set answers Invalid DPoP proof, other keys pass', async () => {
        const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
        const recordKey = `dpop:o:{${await dpopThumbprint(key.privateKey)}}`;
        const later = Date.now() + 60_000;
        const filler: (string | number)[] = [];
        for (let i = 0; i < 10_000; i++) filler.push(later, `filler-${i}`);
        await admin.zadd(recordKey, ...filler);
        const res = await send(app.server, token, await dpopProof(key.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token }));
        assert.equal(res.status, 401);
        assert.equal(await admin.zcard(recordKey), 10_000, 'nothing was dropped');
        const otherKey = ecKey();
        const otherToken = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(otherKey.privateKey) });
        assert.equal((await send(app.server, otherToken, await dpopProof(otherKey.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token: otherToken }))).status, 200);
      });

      it('Redis down: 503 Token revocation store unavailable, never accepted; back up: accepted again', async () => {
        // access tokens unchecked by the store: the replay cache is the only thing that needs Redis here
        JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'refresh' }, dpop: { origin: ORIGIN } });
        const token = await fakeAccessToken('alice', { dpopJkt: await dpopThumbprint(key.privateKey) });
        assert.equal((await send(app.server, token, await dpopProof(key.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token }))).status, 200);
        await redis.server!.stop();
        try {
          const res = await send(app.server, token, await dpopProof(key.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token }));
          assert.equal(res.status, 503);
          assert.deepEqual(res.body, { msg: 'Token revocation store unavailable' });
        } finally {
          await redis.server!.restart();
        }
        let status = 0;
        for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
          status = (await send(app.server, token, await dpopProof(key.privateKey, { htm: 'GET', htu: `${ORIGIN}/me`, token }))).status;
          if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(status, 200);
      });
    });
  }

  it('Redis down at login: verifyDpopProof rejects with 503 (the proof is not accepted unrecorded)', async () => {
    await flush(admin);
    store = new RedisTokenStore({ redis: redis.url, keyPrefix: 'dpop:', commandTimeoutMs: 300 });
    app = await startDpopApp({ revocation: { store, checks: 'refresh' }, dpop: { origin: ORIGIN } });
    await redis.server!.stop();
    try {
      const res = await request(app.server).post('/login').set('DPoP', await dpopProof(key.privateKey, { htm: 'POST', htu: `${ORIGIN}/login` }));
      assert.equal(res.status, 503);
      assert.deepEqual(res.body, { msg: 'Token revocation store unavailable' });
    } finally {
      await redis.server!.restart();
    }
  });
});
