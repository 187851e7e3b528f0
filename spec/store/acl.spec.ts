/**
 * Issue 21 finding 9: the README's Redis ACL, run as written against a real redis-server. The app's
 * user can do everything the stores do (records, cut-offs, rotation, the tier's subscriber and
 * confirmations, the DPoP replay cache, listing); another user of the same Redis, created as Redis 7
 * creates users (no channel, no key), cannot read or write the prefix nor publish on its channels.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import {
  createAccessToken, createRefreshToken, decodeToken, getStoredToken, TokenNotFoundError, getAllStoredTokens, JwtManager, revokeAllTokens, revokeToken, rotateRefreshToken,
} from '../../src';
import type { TokenPayload } from '../../src';
import { RedisTokenStore } from '../../src/store/redis';
import { TieredTokenStore } from '../../src/store/tiered';
import { SECRET } from '../support/server';
import { requireRedis, startStandalone, type StandaloneRedis } from '../support/redis';
import { eventually } from './redis-suite';

/** The ACL SETUSER line of the README, as a list of arguments. */
function readmeAcl(): string[] {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const line = /`(ACL SETUSER jwt-app [^`]+)`/.exec(readme);
  assert.ok(line, 'the README gives an ACL SETUSER line for jwt-app');
  return line[1].split(/\s+/).slice(2); // after "ACL SETUSER"
}

describe('the README Redis ACL (issue 21 finding 9)', function () {
  this.timeout(60_000);
  let redis: StandaloneRedis;
  let admin: Redis;
  before(async function () {
    requireRedis(this);
    redis = await startStandalone();
    admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', ...readmeAcl());
    await admin.call('ACL', 'SETUSER', 'other-app', 'on', '>other', '~other:*', '+@all'); // Redis 7: no channel unless granted
  });
  after(async () => {
    admin?.disconnect();
    await redis?.server?.stop();
  });
  afterEach(() => JwtManager.reset());
  const asUser = (user: string, password: string) => redis.url.replace('redis://', `redis://${user}:${password}@`);

  it("lets the app's user run every store operation, the tiered store's confirmations included", async () => {
    const url = asUser('jwt-app', 'password');
    const tiered = new TieredTokenStore({ redis: url, confirmTimeoutMs: 3000 });
    const other = new TieredTokenStore({ redis: url });
    const errors: unknown[] = [];
    try {
      await eventually(async () => assert.ok(tiered.isLinkUp && other.isLinkUp));
      JwtManager.configure({ secret: SECRET, revocation: { store: tiered, checks: 'all', refreshRotation: true } });
      const refresh = await createRefreshToken('alice');
      const pair = await rotateRefreshToken({ payload: (await decodeToken(refresh)) as TokenPayload });
      await revokeToken(pair.accessToken);
      await revokeAllTokens('alice');
      assert.ok((await getAllStoredTokens()).length >= 2); // SCAN
      assert.equal(await tiered.rememberOnce({ group: 'g', key: 'k', expiresAt: Date.now() + 1000, maxPerGroup: 5 }), 'new'); // TIME in a script
      const started = Date.now();
      await revokeToken(await createAccessToken('bob'));
      assert.ok(Date.now() - started < 2500, 'the other instance confirmed (no 3 s timeout)');
    } finally {
      await Promise.all([tiered.close(), other.close()]);
    }
    assert.deepEqual(errors, []);
  });

  it('a user denied PUBLISH: every write that announces rejects, and nothing was written (the scripts publish first; 0.3 attack)', async () => {
    await admin.call('ACL', 'SETUSER', 'no-publish', 'on', '>np', '~jwt:*', '&*', '+@all', '-publish');
    const url = asUser('no-publish', 'np');
    const payload = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as TokenPayload;
    for (const mode of ['allowlist', 'blocklist'] as const) {
      const store = new RedisTokenStore({ redis: url });
      try {
        JwtManager.configure({ secret: SECRET, revocation: { store, mode, checks: 'all', refreshRotation: true } });
        const token = await createAccessToken(`alice-${mode}`);
        await assert.rejects(revokeToken(token), /NOPERM|failed/i, mode);
        const record = await getStoredToken(payload(token).jti as string).catch((error: unknown) => {
          if (error instanceof TokenNotFoundError) return undefined; // blocklist: nothing stored
          throw error;
        });
        assert.ok(record === undefined || record.revoked === false, `${mode}: the refused revocation was written: ${JSON.stringify(record)}`);
        await assert.rejects(revokeAllTokens(`alice-${mode}`), /NOPERM|failed/i, mode);
        assert.equal(await admin.exists(store.keys.cutoff(`alice-${mode}`)), 0, `${mode}: the refused cut-off was written`);
        const refresh = await createRefreshToken(`bob-${mode}`);
        await assert.rejects(rotateRefreshToken({ payload: payload(refresh) }), mode);
        assert.equal(await admin.exists(store.keys.family(payload(refresh).jti as string)), 0, `${mode}: the refused rotation was written`);
      } finally {
        JwtManager.reset();
        await store.close();
      }
    }
  });

  it('refuses another user of the same Redis the prefix and its channels (NOPERM), while the app user may', async () => {
    const intruder = new Redis(asUser('other-app', 'other'), { maxRetriesPerRequest: 0 });
    const app = new Redis(asUser('jwt-app', 'password'), { maxRetriesPerRequest: 0 });
    try {
      await assert.rejects(intruder.publish('jwt:confirm', 'request instance mac'), /NOPERM/);
      await assert.rejects(intruder.publish('jwt:invalidate', 't:some-jti'), /NOPERM/);
      await assert.rejects(intruder.get('jwt:t:{some-jti}'), /NOPERM/);
      await assert.rejects(app.get('other:secret'), /NOPERM/); // and the app's user stays inside its prefix
      await app.publish('jwt:invalidate', 't:some-jti');
    } finally {
      intruder.disconnect();
      app.disconnect();
    }
  });
});
