import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createKoaServer, Get, JsonController } from 'routing-controllers';
import { Identity, JwtManager, JwtRequired, MemoryTokenStore, revokeToken } from '../../src';
import { authHeader, expiredAccessToken, fakeAccessToken, tamperToken } from '../../src/testing';

const SECRET = 'verify-cache-spec-secret-of-32-bytes!!!';

@JsonController('/cache')
class CacheController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() username: string) {
    return { username };
  }
}

/** Runs `fn` with the clock moved `seconds` ahead. */
async function later<T>(seconds: number, fn: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + seconds * 1000;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

const jtiOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti as string;

for (const cacheSize of [10_000, 0]) {
  describe(`the verified-token cache never changes an outcome (verifiedTokenCacheSize ${cacheSize})`, () => {
    let server: Server;
    const get = (token: string) => request(server).get('/cache/me').set(authHeader(token));

    beforeEach(() => {
      JwtManager.configure({ secret: SECRET, verifiedTokenCacheSize: cacheSize, revocation: { store: new MemoryTokenStore(), checks: 'all' } });
      server = createKoaServer({ controllers: [CacheController] }).listen(0);
    });
    afterEach(() => {
      server.close();
      JwtManager.reset();
    });

    it('a valid token that expires after its first use is refused on the next one', async () => {
      const token = await fakeAccessToken('alice', { expiresIn: 60 });
      const first = await get(token);
      assert.deepEqual([first.status, first.body], [200, { username: 'alice' }]);
      const second = await later(61, () => get(token));
      assert.deepEqual([second.status, second.body], [401, { msg: 'Token has expired' }]);
    });

    it('an expired token is refused the same way twice', async () => {
      const token = await expiredAccessToken('alice');
      for (let use = 1; use <= 2; use += 1) {
        const res = await get(token);
        assert.deepEqual([res.status, res.body], [401, { msg: 'Token has expired' }], `use ${use}`);
      }
    });

    it('a token revoked after its first use is refused on the next one', async () => {
      const token = await fakeAccessToken('alice');
      assert.equal((await get(token)).status, 200);
      await revokeToken(jtiOf(token));
      const res = await get(token);
      assert.deepEqual([res.status, res.body], [401, { msg: 'Token has been revoked' }]);
    });

    it('a tampered copy of a token that was used successfully is refused, twice', async () => {
      const token = await fakeAccessToken('alice');
      assert.equal((await get(token)).status, 200);
      const forged = tamperToken(token, { sub: 'admin' });
      // the same signature, so the same cache key: only the whole-token comparison tells them apart
      assert.equal(forged.slice(-43), token.slice(-43));
      for (let use = 1; use <= 2; use += 1) {
        const res = await get(forged);
        assert.deepEqual([res.status, res.body], [422, { msg: 'Signature verification failed' }], `use ${use}`);
      }
    });

    it('a token not yet valid is refused until its nbf, then accepted', async () => {
      const token = await later(120, () => fakeAccessToken('alice'));
      const early = await get(token);
      assert.deepEqual([early.status, early.body], [422, { msg: 'Token not yet valid' }]);
      const again = await get(token);
      assert.deepEqual([again.status, again.body], [422, { msg: 'Token not yet valid' }]);
      const onTime = await later(121, () => get(token));
      assert.deepEqual([onTime.status, onTime.body], [200, { username: 'alice' }]);
    });
  });
}

describe('decodeToken goes through the same cache', () => {
  afterEach(() => JwtManager.reset());

  it('a cached token is still refused by decodeToken once expired, and allowed with allowExpired', async () => {
    const manager = JwtManager.configure({ secret: SECRET });
    const token = await fakeAccessToken('bob', { expiresIn: 30 });
    assert.equal((await manager.decodeToken(token)).sub, 'bob');
    await later(31, async () => {
      await assert.rejects(manager.decodeToken(token), { message: 'Token has expired', status: 401 });
      assert.equal((await manager.decodeToken(token, { allowExpired: true })).sub, 'bob');
    });
  });
});
