/**
 * Issue 13's session behaviours (blocklist, cut-offs, refresh rotation), defined once and run
 * against every store through the real verification pipeline: memory, Redis and tiered on
 * standalone Redis, a Sentinel and a Cluster.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import Redis, { Cluster } from 'ioredis';
import {
  createAccessToken, createRefreshToken, getStoredToken, JwtManager, JwtUsageError, RevokedTokenError, revokeAllTokens,
  revokeToken, TokenNotFoundError, unrevokeToken,
} from '../../src';
import type { RevocationOptions, TokenPayload, TokenStore } from '../../src';
import type { RefreshTokenUse, StoreEntry } from '../../src/store/token-store';
import { ACCESS, REFRESH, Requirement, TokenVerifier } from '../../src/core/verify';
import { refuseUsedRefreshToken } from '../../src/core/sessions';
import { HEARTBEAT_MS, LEASE_MS } from '../../src/store/confirm';
import { sleep, startOfSecond } from '../support/redis';
import { RedisTokenStore } from '../../src/store/redis';
import { TieredTokenStore } from '../../src/store/tiered';
import type { Server } from 'node:http';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { MemoryTokenStore } from '../../src';
import { listenTestApp } from '../support/app';
import { expectResponse } from '../support/assert-response';
import { useMovableClock, useSkewedClock } from '../support/clock';
import { SECRET } from '../support/server';
import { type RedisEnv, standaloneEnv, useRedisEnv } from './redis-env';
import { eventually } from './redis-suite';

/** A store for one test; `second()` is another instance sharing its state (tiered: another process's tier). */
export interface SessionStores {
  first(): Promise<TokenStore>;
  second?(): Promise<TokenStore>;
  /** How long a change made through one instance may take to reach another. */
  propagationMs?: number;
}

export function payloadOf(token: string): TokenPayload {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

/** Resolves `'ok'`, or the refusal's `status message`. */
async function outcome(verifier: TokenVerifier, token: string, requirement: Requirement): Promise<string> {
  try {
    await verifier.authorize(token, requirement);
    return 'ok';
  } catch (error) {
    const { status, message } = error as { status?: number; message: string };
    return `${status} ${message}`;
  }
}

const REVOKED = '401 Token has been revoked';

export function defineSessionSuite(stores: SessionStores): void {
  let store: TokenStore;
  const configure = async (revocation: Partial<RevocationOptions> = {}) => {
    store = await stores.first();
    JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', ...revocation } });
  };
  const check = (token: string, requirement = ACCESS) => outcome(JwtManager.instance.verifier, token, requirement);
  /** A verifier of "another app instance": same keys and options, its own store instance. */
  const otherInstance = async () => {
    const config = JwtManager.instance.config;
    return new TokenVerifier({ ...config, revocation: { ...config.revocation!, store: await stores.second!() } });
  };
  const eventuallyRefused = async (verifier: TokenVerifier, token: string, requirement: Requirement) => {
    const deadline = Date.now() + (stores.propagationMs ?? 1000);
    while ((await outcome(verifier, token, requirement)) !== REVOKED) {
      assert.ok(Date.now() < deadline, 'the other instance still accepts the token');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  afterEach(() => JwtManager.reset());

  describe('blocklist mode', () => {
    beforeEach(() => configure({ mode: 'blocklist' }));

    it('writes nothing at creation, and accepts a token the store does not know', async () => {
      const token = await createRefreshToken('alice');
      await assert.rejects(getStoredToken(payloadOf(token).jti as string), TokenNotFoundError);
      assert.equal(await check(token, REFRESH), 'ok');
    });

    it('refuses a token revoked by its token string, and keeps accepting its sibling', async () => {
      const revoked = await createAccessToken('alice');
      const sibling = await createAccessToken('alice');
      await revokeToken(revoked);
      assert.equal(await check(revoked), REVOKED);
      assert.equal(await check(sibling), 'ok');
    });

    it('stores a revocation until the token exp, with its payload', async () => {
      const token = await createAccessToken('alice');
      await revokeToken(payloadOf(token));
      assert.deepEqual(await getStoredToken(payloadOf(token).jti as string), { token: payloadOf(token), revoked: true });
    });

    it('refuses a token revoked by bare jti with its identity and exp, and accepts it again once unrevoked', async () => {
      const token = await createAccessToken('alice');
      const { jti, exp } = payloadOf(token) as { jti: string; exp: number };
      await revokeToken(jti, { identity: 'alice', expiresAt: exp });
      assert.equal(await check(token), REVOKED);
      assert.deepEqual(await getStoredToken(jti), { token: { sub: 'alice', jti, exp }, revoked: true });
      await unrevokeToken(jti);
      assert.equal(await check(token), 'ok');
    });

    for (const [name, options] of [
      ['no options', undefined],
      ['no identity', { expiresAt: 2e9 }],
      ['no expiresAt', { identity: 'alice' }],
      ['an empty identity', { identity: '', expiresAt: 2e9 }],
      ['a non-finite expiresAt', { identity: 'alice', expiresAt: Infinity }],
      ['expiresAt as a string', { identity: 'alice', expiresAt: '2000000000' }],
    ] as const) {
      it(`a bare jti with ${name}: JwtUsageError saying to pass the token or its payload; nothing stored`, async () => {
        const token = await createAccessToken('alice');
        const jti = payloadOf(token).jti as string;
        await assert.rejects(revokeToken(jti, options as never), (error: Error) => {
          assert.ok(error instanceof JwtUsageError, String(error));
          assert.match(error.message, /pass the token or its payload/);
          return true;
        });
        await assert.rejects(getStoredToken(jti), TokenNotFoundError);
        assert.equal(await check(token), 'ok');
      });
    }

    if (stores.second) it('clockMarginSeconds: an instance whose clock is 30 s behind still refuses a revoked token after its exp on Redis\'s clock (margin 0: accepts it)', async () => {
      const store = await stores.first();
      const slow = await stores.second!();
      const keeping = JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist', checks: 'all' } });
      const forgetting = JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist', checks: 'all', clockMarginSeconds: 0 } });
      await startOfSecond(); // both must still live when revoked below (1 s, whole-second exp)
      const kept = await keeping.createAccessToken('alice', { expiresIn: 1 });
      const dropped = await forgetting.createAccessToken('alice', { expiresIn: 1 });
      await keeping.revokeToken(kept);
      await forgetting.revokeToken(dropped);
      await sleep(2300); // both tokens expired on Redis's clock, and the margin-0 record with them
      // the slow instance: a leeway covering its skew (tokens made elsewhere have their iat and nbf in its future)
      const verify = (margin: number) => new TokenVerifier({ ...keeping.config, leeway: 40, revocation: { ...keeping.config.revocation!, store: slow, clockMarginSeconds: margin } });
      const skewed = useSkewedClock(-30_000);
      try {
        assert.equal(await outcome(verify(300), kept, ACCESS), REVOKED);
        assert.equal(await outcome(verify(0), dropped, ACCESS), 'ok'); // the revocation is gone while this clock still accepts the token
      } finally {
        skewed.restore();
      }
    });

    it('takes an expired token string (verified with allowExpired), and stores nothing for it', async () => {
      const token = await createAccessToken('alice', { expiresIn: -310 }); // expired beyond the clock margin (300 s)
      await revokeToken(token);
      await assert.rejects(getStoredToken(payloadOf(token).jti as string), TokenNotFoundError);
    });

    it('refuses to revoke by a forged token string: 422, nothing stored', async () => {
      const token = await createAccessToken('alice');
      const [header, , signature] = token.split('.');
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...payloadOf(token), sub: 'bob' })).toString('base64url')}.${signature}`;
      await assert.rejects(revokeToken(forged), { status: 422, message: 'Signature verification failed' });
      assert.equal(await check(token), 'ok');
    });
  });

  describe('revokeToken(jti, { identity, expiresAt }): the edge cases stay safe (issue 21 finding 8)', () => {
    beforeEach(() => configure({ mode: 'blocklist' }));
    const now = () => Math.floor(Date.now() / 1000);
    /** Enough revocations by `identity` to make a bounded store fold its revocations (memory: maxPerIdentity 100). */
    const flood = async (identity: string) => {
      for (let i = 0; i < 110; i += 1) await revokeToken(`${identity}-junk-${i}`, { identity, expiresAt: now() + 600 });
    };
    /** A token like `createAccessToken(identity)`'s, re-signed with its iat `ahead` seconds past this clock (a clock ahead of ours, or ours stepped back). */
    const issuedAhead = async (identity: string, ahead: number) => {
      const payload = payloadOf(await createAccessToken(identity));
      return jwt.sign({ ...payload, iat: (payload.iat as number) + ahead }, SECRET, { algorithm: 'HS256' });
    };

    it('an expiresAt in the past stores nothing and resolves; a live record of that jti stays revoked, kept until its own exp', async () => {
      const token = await createAccessToken('alice');
      const { jti, exp } = payloadOf(token) as { jti: string; exp: number };
      // past even with the clock margin (default 300 s: a slower clock may still accept a token 60 s past its exp)
      await revokeToken(`never-issued`, { identity: 'alice', expiresAt: now() - 3600 });
      await assert.rejects(getStoredToken('never-issued'), TokenNotFoundError); // nothing to keep
      await revokeToken(token); // the real revocation, until exp
      await revokeToken(jti, { identity: 'alice', expiresAt: now() - 3600 }); // a wrong, past expiresAt: no error, and...
      assert.equal(await check(token), REVOKED); // ...the live token stays refused
      assert.equal((await getStoredToken(jti)).token.exp, exp); // not cut short
    });

    it("someone else's jti revoked under another identity after its own revocation: the token stays refused after that identity's store bound folds, and past the shorter expiresAt", async () => {
      const victim = await createAccessToken('alice');
      const { jti } = payloadOf(victim) as { jti: string };
      await revokeToken(victim); // alice logs out
      await revokeToken(jti, { identity: 'mallory', expiresAt: now() + 1 }); // mallory files alice's jti under himself
      await flood('mallory');
      assert.equal(await check(victim), REVOKED);
      await sleep(2100);
      assert.equal(await check(victim), REVOKED);
      assert.equal(await check(await createAccessToken('alice')), 'ok'); // alice's other tokens are not refused for it
    });

    it("the same, mallory first: alice's later revocation still holds after mallory's bound folds and his expiresAt passes", async () => {
      const victim = await createAccessToken('alice');
      const { jti } = payloadOf(victim) as { jti: string };
      await revokeToken(jti, { identity: 'mallory', expiresAt: now() + 1 });
      await revokeToken(victim); // alice's own logout finds mallory's record: filed again under alice, until her exp
      await revokeToken(jti, { identity: 'mallory', expiresAt: now() + 1 }); // and once more under mallory
      await flood('mallory');
      await sleep(2100);
      assert.equal(await check(victim), REVOKED);
    });

    /** The verifier refuses an iat ahead by more than the leeway (422 Token not yet valid): within it, a skewed issuer's token passes. */
    const withLeeway = async () => {
      JwtManager.configure({ secret: SECRET, leeway: 300, revocation: { store: await stores.first(), checks: 'all', mode: 'blocklist' } });
    };

    it('a token whose iat is ahead of this clock, revoked by bare jti, stays refused once its identity is folded; a new login works', async () => {
      await withLeeway();
      const ahead = await issuedAhead('alice', 120);
      const { jti, exp } = payloadOf(ahead) as { jti: string; exp: number };
      assert.equal(await check(ahead), 'ok');
      await revokeToken(jti, { identity: 'alice', expiresAt: exp });
      await flood('alice');
      assert.equal(await check(ahead), REVOKED);
      assert.equal(await check(await createAccessToken('alice')), 'ok');
      assert.equal(await check(await createAccessToken('bob')), 'ok');
    });

    it('a token whose iat is ahead of this clock, revoked by its payload, stays refused once its identity is folded', async () => {
      await withLeeway();
      const ahead = await issuedAhead('alice', 120);
      await revokeToken(payloadOf(ahead));
      await flood('alice');
      assert.equal(await check(ahead), REVOKED);
      assert.equal(await check(await createAccessToken('bob')), 'ok');
    });

    it('with a cut-off: unrevoking a bare revocation does not lift revokeAllTokens; a token made after the cut-off is revoked and unrevoked alone', async () => {
      const before = await createAccessToken('alice');
      await revokeAllTokens('alice');
      const after = await createAccessToken('alice');
      for (const token of [before, after]) {
        const { jti, exp } = payloadOf(token) as { jti: string; exp: number };
        await revokeToken(jti, { identity: 'alice', expiresAt: exp });
        assert.equal(await check(token), REVOKED);
        await unrevokeToken(jti);
      }
      assert.equal(await check(before), REVOKED); // the cut-off stands
      assert.equal(await check(after), 'ok');
    });

    it('a fold into the cut-off never shortens an earlier revokeAllTokens', async () => {
      const before = await createAccessToken('alice', { expiresIn: 3600 });
      await revokeAllTokens('alice'); // kept for the longest token lifetime
      for (let i = 0; i < 110; i += 1) await revokeToken(`short-${i}`, { identity: 'alice', expiresAt: now() + 1 });
      await sleep(2100);
      assert.equal(await check(before), REVOKED);
    });
  });

  for (const mode of ['blocklist', 'allowlist'] as const) describe(`a live revocation is never dropped (${mode})`, () => {
    let server: Server;
    beforeEach(async () => {
      await configure({ mode });
      server = listenTestApp();
    });
    afterEach(() => server.close());
    const get = (token: string) => request(server).get('/me').set('Authorization', `Bearer ${token}`);

    it('a revoked token is still refused over HTTP after 150 further revocations and logins by its identity and by others', async () => {
      const first = await createAccessToken('alice');
      const kept = await createAccessToken('alice');
      expectResponse(await get(first), 200, { identity: 'alice' });
      await revokeToken(first);
      for (let i = 0; i < 150; i += 1) {
        await revokeToken(await createAccessToken('alice'));
        await createRefreshToken(i % 2 === 0 ? 'alice' : `other-${i}`);
        await revokeToken(await createAccessToken(`other-${i % 7}`));
      }
      expectResponse(await get(first), 401, { msg: 'Token has been revoked' });
      if (mode === 'blocklist') assert.equal((await get(kept)).status, store instanceof MemoryTokenStore ? 401 : 200); // folded (memory) or kept exactly
      expectResponse(await get(await createAccessToken('bob')), 200, { identity: 'bob' });
    });
  });

  describe('revokeAllTokens (cut-off)', () => {
    beforeEach(() => configure());

    it('refuses every earlier access and refresh token of the identity, and no one else', async () => {
      const access = await createAccessToken('alice');
      const refresh = await createRefreshToken('alice');
      const bobs = await createAccessToken('bob');
      await revokeAllTokens('alice');
      assert.equal(await check(access), REVOKED);
      assert.equal(await check(refresh, REFRESH), REVOKED);
      assert.equal(await check(bobs), 'ok');
    });

    it('accepts a token created right after the call, in the same second as a refused one', async () => {
      let before: string;
      let after: string;
      do {
        before = await createRefreshToken('alice');
        await revokeAllTokens('alice');
        after = await createRefreshToken('alice');
      } while (payloadOf(before).iat !== payloadOf(after).iat); // retry if the second turned in between
      assert.equal(await check(before, REFRESH), REVOKED);
      assert.equal(await check(after, REFRESH), 'ok');
    });

    it('works in blocklist mode too', async () => {
      await configure({ mode: 'blocklist' });
      const before = await createAccessToken('alice');
      await revokeAllTokens('alice');
      const after = await createAccessToken('alice');
      assert.equal(await check(before), REVOKED);
      assert.equal(await check(after), 'ok');
    });

    it("with checks 'refresh', access tokens run to their exp while refresh tokens die at once", async () => {
      await configure({ checks: 'refresh' });
      const access = await createAccessToken('alice');
      const refresh = await createRefreshToken('alice');
      await revokeAllTokens('alice');
      assert.equal(await check(access), 'ok');
      assert.equal(await check(refresh, REFRESH), REVOKED);
    });

    if (stores.second) it('reaches another instance within the propagation bound', async () => {
      const token = await createAccessToken('alice');
      const other = await otherInstance();
      assert.equal(await outcome(other, token, ACCESS), 'ok'); // the other instance has it cached as valid
      await revokeAllTokens('alice');
      await eventuallyRefused(other, token, ACCESS);
      assert.equal(await outcome(other, await createAccessToken('alice'), ACCESS), 'ok');
    });
  });

  describe('refresh rotation', () => {
    beforeEach(() => configure({ refreshRotation: true }));
    const rotate = (token: string) => JwtManager.instance.rotateRefreshToken(payloadOf(token));

    it('gives a new pair in the same family, both accepted', async () => {
      const first = await createRefreshToken('alice');
      const { accessToken, refreshToken } = await rotate(first);
      assert.equal(payloadOf(accessToken).fam, payloadOf(first).fam);
      assert.equal(payloadOf(refreshToken).fam, payloadOf(first).fam);
      assert.equal(payloadOf(accessToken).sub, 'alice');
      assert.equal(await check(accessToken), 'ok');
      assert.equal(await check(refreshToken, REFRESH), 'ok');
    });

    it('a family revoked on reuse stays revoked while a token made with a longer expiresIn lives, past the configured lifetime (0.3 attack: a 90-day token rotated again 3 s after reuse)', async () => {
      store = await stores.first();
      JwtManager.configure({
        secret: SECRET, accessTokenExpires: 1, refreshTokenExpires: 1,
        revocation: { store, checks: 'all', refreshRotation: true, reuseIntervalSeconds: 0, clockMarginSeconds: 0 },
      });
      await startOfSecond(); // the pair's 1 s lifetime must outlast the reuse below (whole-second exp)
      const remembered = await createRefreshToken('alice', { expiresIn: '90d' });
      const pair = await rotate(remembered);
      await assert.rejects(rotate(remembered), RevokedTokenError); // reuse: the family goes
      assert.equal(await check(pair.refreshToken, REFRESH), REVOKED);
      await sleep(2300); // past the configured lifetimes (1 s) and every keep computed from them
      assert.equal(await check(remembered, REFRESH), REVOKED);
      await assert.rejects(rotate(remembered), RevokedTokenError);
    });

    it('refuses a rotated refresh token presented again (interval 0), and revokes its whole family', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 0 });
      const first = await createRefreshToken('alice');
      const second = await rotate(first);
      const newest = await rotate(second.refreshToken);
      const unrelated = await createRefreshToken('alice');
      assert.equal(await check(second.refreshToken, REFRESH), REVOKED); // reuse
      assert.equal(await check(newest.refreshToken, REFRESH), REVOKED);
      assert.equal(await check(newest.accessToken), REVOKED);
      assert.equal(await check(unrelated, REFRESH), 'ok');
    });

    it('a tab that rotated twice inside the interval: another tab retrying the first token gets the newest pair, and nobody is logged out (outside attack helper-31)', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 2 });
      const first = await createRefreshToken('alice');
      const second = await rotate(first); // tab A
      const third = await rotate(second.refreshToken); // tab A again, at once
      assert.equal(await check(first, REFRESH), 'ok'); // tab B's guard: a retry inside the interval
      assert.deepEqual(await rotate(first), third); // tab B: the family's newest pair
      assert.deepEqual(await rotate(second.refreshToken), third);
      assert.equal(await check(third.accessToken), 'ok');
      assert.equal(await check((await rotate(third.refreshToken)).refreshToken, REFRESH), 'ok'); // the family lives on
    });

    it('the first token retried after its interval is reuse, even within the interval of a later rotation: the family goes', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 1 });
      const first = await createRefreshToken('alice');
      const second = await rotate(first);
      await sleep(1200); // first's interval is over
      const third = await rotate(second.refreshToken);
      await assert.rejects(rotate(first), RevokedTokenError);
      assert.equal(await check(third.refreshToken, REFRESH), REVOKED);
    });

    it('a chain of 10 rotations inside the interval: the last 9 jtis used are retries, the first of them is reuse (the store keeps 8 before the last)', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 10 });
      const tokens = [await createRefreshToken('alice')];
      let newest: { accessToken: string; refreshToken: string } | undefined;
      for (let i = 0; i < 10; i += 1) {
        newest = await rotate(tokens[tokens.length - 1]);
        tokens.push(newest.refreshToken);
      }
      for (const used of tokens.slice(1, 10)) assert.deepEqual(await rotate(used), newest, 'a retry of one of the last 9 used');
      await assert.rejects(rotate(tokens[0]), RevokedTokenError);
      assert.equal(await check(newest!.refreshToken, REFRESH), REVOKED);
    });

    it('of 5 concurrent rotations with one token (interval 0), exactly one succeeds', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 0 });
      const first = await createRefreshToken('alice');
      const results = await Promise.allSettled(Array.from({ length: 5 }, () => rotate(first)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof RevokedTokenError, String(r.reason));
    });

    it('the default interval is 10 s: 20 concurrent rotations with one token all get one pair, and it works afterwards', async () => {
      assert.equal(JwtManager.instance.config.revocation!.reuseIntervalSeconds, 10);
      const first = await createRefreshToken('alice');
      const pairs = await Promise.all(Array.from({ length: 20 }, () => rotate(first)));
      for (const pair of pairs) assert.deepEqual(pair, pairs[0]);
      assert.equal(await check(pairs[0].accessToken), 'ok');
      const next = await rotate(pairs[0].refreshToken);
      assert.equal(await check(next.refreshToken, REFRESH), 'ok');
    });

    it('answers a retry inside the interval with the same two token strings, and the guard lets it through', async () => {
      const first = await createRefreshToken('alice');
      const answer = await rotate(first);
      assert.equal(await check(first, REFRESH), 'ok');
      assert.deepEqual(await rotate(first), answer);
      assert.equal(await check(answer.refreshToken, REFRESH), 'ok');
    });

    it('after the interval the used token is reuse: refused, the family revoked', async () => {
      const clock = useMovableClock();
      try {
        const first = await createRefreshToken('alice');
        const answer = await rotate(first);
        clock.advance(10_500);
        assert.equal(await check(answer.refreshToken, REFRESH), 'ok');
        await assert.rejects(rotate(first), RevokedTokenError);
        assert.equal(await check(answer.refreshToken, REFRESH), REVOKED);
        assert.equal(await check(answer.accessToken), REVOKED);
      } finally {
        clock.restore();
      }
    });

    it('with no interval, a second use of an older token once the family has moved on is reuse', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 0 });
      const first = await createRefreshToken('alice');
      const second = await rotate(first);
      const third = await rotate(second.refreshToken);
      await assert.rejects(rotate(first), RevokedTokenError);
      assert.equal(await check(third.refreshToken, REFRESH), REVOKED);
    });

    it('a losing candidate pair is never recorded (allowlist): only the pair handed out is stored', async () => {
      const first = await createRefreshToken('alice');
      await Promise.all(Array.from({ length: 10 }, () => rotate(first)));
      const stored = await store.findByIdentity('alice');
      assert.equal(stored.length, 3); // the first refresh token and the one pair
    });

    // 0.3 H, instances' clocks: the reuse interval is measured on Redis's clock, whatever an instance's says
    if (stores.second) it("a retry on an instance whose clock is 15 s ahead is a retry (the same pair), not reuse", async () => {
      const revocation = { checks: 'all', refreshRotation: true } as const;
      const a = JwtManager.configure({ secret: SECRET, revocation: { store: await stores.first(), ...revocation } });
      const b = JwtManager.configure({ secret: SECRET, revocation: { store: await stores.second!(), ...revocation } });
      const first = await a.createRefreshToken('alice');
      const pair = await a.rotateRefreshToken(await a.verifier.authorize(first, REFRESH));
      const skewed = useSkewedClock(15_000);
      try {
        assert.equal(await outcome(b.verifier, first, REFRESH), 'ok'); // before: 15 s since it was used, by this clock: reuse, family revoked
        assert.deepEqual(await b.rotateRefreshToken(await b.verifier.authorize(first, REFRESH)), pair);
      } finally {
        skewed.restore();
      }
      assert.equal(await outcome(a.verifier, pair.refreshToken, REFRESH), 'ok');
      assert.equal(await outcome(a.verifier, pair.accessToken, ACCESS), 'ok');
    });

    if (stores.second) it('an instance whose clock is 5 s behind treats a used token as reuse once the interval (1 s) is over on Redis\'s clock', async () => {
      const revocation = { checks: 'all', refreshRotation: true, reuseIntervalSeconds: 1 } as const;
      const a = JwtManager.configure({ secret: SECRET, revocation: { store: await stores.first(), ...revocation } });
      // an instance whose clock is behind needs the leeway to accept tokens made elsewhere (their iat is in its future)
      const b = JwtManager.configure({ secret: SECRET, leeway: 10, revocation: { store: await stores.second!(), ...revocation } });
      const first = await a.createRefreshToken('alice');
      const pair = await a.rotateRefreshToken(await a.verifier.authorize(first, REFRESH));
      // b runs 5 s behind (every call of b under that clock: a tier's deadlines are on its own clock)
      const onB = async <T>(run: () => Promise<T>): Promise<T> => {
        const skewed = useSkewedClock(-5000);
        try {
          return await run();
        } finally {
          skewed.restore();
        }
      };
      assert.equal(await onB(() => outcome(b.verifier, first, REFRESH)), 'ok'); // inside the interval: a retry passes
      await sleep(1300);
      // before: -3.7 s since it was used, by b's clock: still a retry
      assert.equal(await onB(() => outcome(b.verifier, first, REFRESH)), REVOKED);
      assert.equal(await outcome(a.verifier, pair.refreshToken, REFRESH), REVOKED); // the family went with it
    });

    /**
     * `store` with its `add` replaced (the other methods bound to it, so #private fields keep
     * working), and recording a rotated pair after its store step, with `add`, as a store that
     * does not write `use.records` in that step does (a custom store; a Cluster, where the
     * records sit in other slots): the window between the two steps is what is tested.
     */
    const withAdd = (base: TokenStore, add: (entry: StoreEntry) => Promise<void>): TokenStore => {
      const wrapped = {} as Record<string, unknown>;
      for (const name of ['find', 'setRevoked', 'findByIdentity', 'findAll', 'close', 'peek', 'inspect', 'peekState', 'cutoff', 'revokeAll', 'useRefreshToken', 'revokeFamily', 'rememberOnce']) {
        const method = (base as unknown as Record<string, unknown>)[name];
        if (typeof method === 'function') wrapped[name] = method.bind(base);
      }
      wrapped.add = add;
      const use = wrapped.useRefreshToken as TokenStore['useRefreshToken'];
      if (use !== undefined) wrapped.useRefreshToken = (refreshUse: RefreshTokenUse) => use({ ...refreshUse, records: undefined });
      return wrapped as unknown as TokenStore;
    };
    for (const trouble of ['delayed', 'failing'] as const) it(`allowlist: a concurrent rotation on another instance while the winner's records are ${trouble} gets a pair that works at once`, async () => {
      const base = await stores.first();
      const other = stores.second ? await stores.second() : base;
      let armed = false;
      let reached!: () => void;
      const atAdd = new Promise<void>((resolve) => { reached = resolve; });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const winnerStore = withAdd(base, async (entry) => {
        if (!armed) return base.add(entry);
        reached();
        await gate;
        if (trouble === 'failing') throw new Error('the winner could not write its records');
        return base.add(entry);
      });
      const revocation = { checks: 'all', refreshRotation: true } as const;
      const a = JwtManager.configure({ secret: SECRET, revocation: { store: winnerStore, ...revocation } });
      const b = JwtManager.configure({ secret: SECRET, revocation: { store: other, ...revocation } });
      const first = await a.createRefreshToken('alice');
      armed = true;
      const winner = a.rotateRefreshToken(payloadOf(first));
      winner.catch(() => undefined);
      await atAdd; // the winner's store step is done, its records are not
      const pair = await b.rotateRefreshToken(await b.verifier.authorize(first, REFRESH));
      // refused before the fix: the retry handed out a pair whose records were not stored yet
      assert.equal(await outcome(b.verifier, pair.accessToken, ACCESS), 'ok');
      assert.equal(await outcome(b.verifier, pair.refreshToken, REFRESH), 'ok');
      release();
      if (trouble === 'delayed') assert.deepEqual(await winner, pair);
      else await assert.rejects(winner, (error: { status?: number }) => error.status === 503);
      for (const verifier of [a.verifier, b.verifier]) {
        assert.equal(await outcome(verifier, pair.accessToken, ACCESS), 'ok');
        assert.equal(await outcome(verifier, pair.refreshToken, REFRESH), 'ok');
      }
      // the retry's records are the only ones (the winner kept them, whichever came first), and a revocation sticks
      assert.equal((await base.findByIdentity('alice')).length, 3);
      await b.revokeToken(pair.accessToken);
      assert.equal(await outcome(a.verifier, pair.accessToken, ACCESS), REVOKED);
      assert.deepEqual(await b.rotateRefreshToken(await b.verifier.authorize(first, REFRESH)), pair); // a later retry keeps the revocation
      assert.equal(await outcome(b.verifier, pair.accessToken, ACCESS), REVOKED);
      assert.equal(await outcome(b.verifier, pair.refreshToken, REFRESH), 'ok');
    });

    it('treats a second use as reuse when reuseIntervalSeconds is 0', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 0 });
      const first = await createRefreshToken('alice');
      const answer = await rotate(first);
      await assert.rejects(rotate(first), RevokedTokenError);
      assert.equal(await check(answer.refreshToken, REFRESH), REVOKED);
    });

    describe('maxSessionLifetime', () => {
      it('caps the first refresh token and every rotated one at the first iat + the bound', async () => {
        await configure({ refreshRotation: true, maxSessionLifetime: '1h' });
        const clock = useMovableClock();
        try {
          const first = await createRefreshToken('alice');
          const start = payloadOf(first).iat as number;
          assert.equal(payloadOf(first).exp, start + 3600);
          let token = first;
          for (let i = 0; i < 3; i += 1) {
            clock.advance(900_000);
            const pair = await rotate(token);
            assert.ok((payloadOf(pair.refreshToken).exp as number) <= start + 3600);
            assert.ok((payloadOf(pair.accessToken).exp as number) <= start + 3600);
            token = pair.refreshToken;
          }
          assert.equal(await check(token, REFRESH), 'ok');
          clock.advance(900_000); // the session's end: no rotation extends it
          assert.equal(await check(token, REFRESH), '401 Token has expired');
          await assert.rejects(rotate(token), { status: 401, message: 'Token has expired' });
        } finally {
          clock.restore();
        }
      });

      it('unset: rotation extends the session by the refresh lifetime each time', async () => {
        await configure({ refreshRotation: true });
        const first = await createRefreshToken('alice');
        const pair = await rotate(first);
        assert.equal(payloadOf(pair.refreshToken).exp, (payloadOf(pair.refreshToken).iat as number) + 30 * 24 * 3600);
      });
    });

    if (stores.second) it('carries family revocation to another instance within the propagation bound', async () => {
      await configure({ refreshRotation: true, reuseIntervalSeconds: 0 });
      const first = await createRefreshToken('alice');
      const { refreshToken } = await rotate(first);
      const other = await otherInstance();
      assert.equal(await outcome(other, refreshToken, REFRESH), 'ok'); // cached as valid over there
      assert.equal(await check(first, REFRESH), REVOKED); // reuse here
      await eventuallyRefused(other, refreshToken, REFRESH);
    });
  });
}

/** The session suite on one Redis deployment: the plain Redis store, then tiered stores (two "instances"). */
/** An explicit family revocation (as reuse detection in the guard makes), 31 days from now. */
/** Revokes a family once more, with a keep shorter than the one it has: it must not shorten it. */
async function revokeFamilyAgain(store: TokenStore, family: string): Promise<void> {
  await store.revokeFamily!(family, Math.ceil(Date.now() / 1000) + 24 * 3600);
}

export function defineRedisSessionSuite(setup: (ctx: Mocha.Context) => Promise<RedisEnv>): void {
  const redis = useRedisEnv(setup);
  const options = () => ({ redis: redis.env.connection(), keyPrefix: redis.prefix });
  describe('RedisTokenStore', () => {
    const open = async (): Promise<TokenStore> => redis.track(new RedisTokenStore(options()));
    defineSessionSuite({ first: open, second: open });
  });
  describe('Redis layout of the session state', () => {
    let store: RedisTokenStore;
    const days = (n: number) => n * 24 * 3600;
    const near = (ttl: number, expected: number) => assert.ok(ttl > expected - 10 && ttl <= expected + 1, `TTL ${ttl}, expected ~${expected}`);
    beforeEach(() => {
      store = redis.track(new RedisTokenStore(options()));
    });

    for (const [margin, configured] of [[300, {}], [0, { clockMarginSeconds: 0 }], [60, { clockMarginSeconds: 60 }]] as const) {
      it(`keeps a blocklist revocation until the token exp + clockMarginSeconds (${margin})`, async () => {
        JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist', ...configured } });
        const token = await createAccessToken('alice', { expiresIn: '2h' });
        await revokeToken(token);
        near(await redis.env.admin.ttl(store.keys.token(payloadOf(token).jti as string)), 7200 + margin);
        await revokeToken(`${payloadOf(token).jti as string}-by-jti`, { identity: 'alice', expiresAt: payloadOf(token).exp as number });
        near(await redis.env.admin.ttl(store.keys.token(`${payloadOf(token).jti as string}-by-jti`)), 7200 + margin);
      });

      it(`keeps a cut-off for the longest token lifetime (refresh: 30 days) + clockMarginSeconds (${margin})`, async () => {
        JwtManager.configure({ secret: SECRET, revocation: { store, ...configured } });
        await revokeAllTokens('alice');
        near(await redis.env.admin.ttl(store.keys.cutoff('alice')), days(30) + margin);
      });
    }

    it('re-filing a revoked jti under another identity with a shorter expiresAt keeps the record until exp + clockMarginSeconds (0.3 attack: TTL 900 became 600)', async () => {
      JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist' } }); // clockMarginSeconds 300
      const token = await createAccessToken('alice', { expiresIn: 600 });
      const jti = payloadOf(token).jti as string;
      await revokeToken(token);
      near(await redis.env.admin.ttl(store.keys.token(jti)), 900);
      await revokeToken(jti, { identity: 'mallory', expiresAt: Math.floor(Date.now() / 1000) + 1 });
      near(await redis.env.admin.ttl(store.keys.token(jti)), 900);
      assert.ok(((await getStoredToken(jti))!.token.exp as number) >= (payloadOf(token).exp as number), 'the record keeps the later exp');
    });

    it('a record is never written with an earlier expiry than it has (the add script keeps the later one)', async () => {
      JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist' } });
      const now = Math.floor(Date.now() / 1000);
      await store.add({ jti: 'j1', identity: 'alice', expiresAt: now + 1000, record: { revoked: true, token: { sub: 'alice', jti: 'j1', type: 'access', exp: now + 700 } } });
      await store.add({ jti: 'j1', identity: 'mallory', expiresAt: now + 5, record: { revoked: true, token: { sub: 'mallory', jti: 'j1', type: 'access', exp: now + 5 } } });
      near(await redis.env.admin.ttl(store.keys.token('j1')), 1000);
    });

    it('a later revokeAllTokens with a shorter keep never shortens the earlier cut-off (TTL kept, cut-off still there after the short keep)', async () => {
      JwtManager.configure({ secret: SECRET, revocation: { store, clockMarginSeconds: 0 } });
      await revokeAllTokens('alice'); // kept 30 days: refresh tokens live that long
      const longTtl = await redis.env.admin.ttl(store.keys.cutoff('alice'));
      near(longTtl, days(30));
      const first = await store.cutoff('alice');
      await store.revokeAll('alice', 1); // an instance configured with 1 s tokens
      near(await redis.env.admin.ttl(store.keys.cutoff('alice')), days(30));
      await sleep(1500);
      assert.ok((await store.cutoff('alice')) >= first, 'the cut-off expired with the shorter keep');
      await redis.env.admin.persist(store.keys.cutoff('alice'));
      await store.revokeAll('alice', 1); // kept for ever before: still for ever
      assert.equal(await redis.env.admin.ttl(store.keys.cutoff('alice')), -1);
    });

    it('keeps a family as long as its tokens live, and never stores a retry answer readable as a token', async () => {
      JwtManager.configure({ secret: SECRET, revocation: { store, refreshRotation: true, reuseIntervalSeconds: 10 } });
      const first = await createRefreshToken('alice');
      const pair = await JwtManager.instance.rotateRefreshToken(payloadOf(first));
      const key = store.keys.family(payloadOf(first).fam as string);
      near(await redis.env.admin.ttl(key), days(30) + 300); // + the default clock margin
      const answerKey = store.keys.familyAnswer(payloadOf(first).fam as string);
      const answerTtl = await redis.env.admin.pttl(answerKey);
      assert.ok(answerTtl > 0 && answerTtl <= 10_000, `the answer is kept the interval only (PTTL ${answerTtl})`);
      const stored = JSON.stringify([await redis.env.admin.hgetall(key), await redis.env.admin.get(answerKey)]);
      const pieces = [...pair.accessToken.split('.'), ...pair.refreshToken.split('.')]; // header, payload, signature of each
      assert.deepEqual(pieces.filter((piece) => stored.includes(piece)), []);
    });

    it('a reuse-detected family is kept as long as its newest token can live, not extended from the reuse', async () => {
      const clock = useMovableClock();
      try {
        JwtManager.configure({ secret: SECRET, revocation: { store, refreshRotation: true } });
        const first = await createRefreshToken('alice');
        await JwtManager.instance.rotateRefreshToken(payloadOf(first));
        const key = store.keys.family(payloadOf(first).fam as string);
        near(await redis.env.admin.ttl(key), days(30) + 300);
        clock.advance(days(1) * 1000); // a day later (Redis's TTLs do not move with this clock: the TTL stays ~30 days)
        await assert.rejects(JwtManager.instance.rotateRefreshToken(payloadOf(first)), RevokedTokenError);
        assert.equal(await redis.env.admin.hget(key, 'revoked'), '1');
        near(await redis.env.admin.ttl(key), days(30) + 300); // before: 31 days, from the reuse
        await revokeFamilyAgain(store, payloadOf(first).fam as string);
        near(await redis.env.admin.ttl(key), days(30) + 300);
      } finally {
        clock.restore();
      }
    });

    it("a family's stored state does not grow with its rotations (9 vs 1000, the remembered recent jtis at their bound of 8): same keys, same bytes", async () => {
      JwtManager.configure({ secret: SECRET, revocation: { store, mode: 'blocklist', refreshRotation: true } });
      const footprint = async () => {
        const nodes = redis.env.admin instanceof Cluster ? redis.env.admin.nodes('master') : [redis.env.admin];
        const keys = (await Promise.all(nodes.map((node) => node.keys(`${redis.prefix}*`)))).flat().sort();
        const bytes = await Promise.all(keys.map(async (key) => Number(await redis.env.admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))));
        return { keys: keys.map((key) => key.slice(redis.prefix.length, redis.prefix.length + 2)), bytes: bytes.reduce((a, b) => a + b, 0) };
      };
      let token = await createRefreshToken('alice');
      for (let i = 0; i < 9; i += 1) token = (await JwtManager.instance.rotateRefreshToken(payloadOf(token))).refreshToken;
      const afterOne = await footprint();
      for (let i = 9; i < 1000; i += 1) token = (await JwtManager.instance.rotateRefreshToken(payloadOf(token))).refreshToken;
      const afterThousand = await footprint();
      if (redis.env.kind === 'standalone') console.log(`      stored after 9 rotations: ${JSON.stringify(afterOne)}; after 1000: ${JSON.stringify(afterThousand)}`);
      assert.deepEqual(afterThousand.keys, afterOne.keys);
      assert.ok(afterThousand.bytes <= afterOne.bytes + 16, `${afterOne.bytes} -> ${afterThousand.bytes} bytes`);
    });
  });

  for (const kind of ['RedisTokenStore', 'TieredTokenStore'] as const) describe(`${kind}: data that does not parse exactly is a store error (503)`, () => {
    const UNAVAILABLE = '503 Token revocation store unavailable';
    let store: RedisTokenStore | TieredTokenStore;
    beforeEach(async () => {
      store = kind === 'RedisTokenStore' ? redis.track(new RedisTokenStore(options())) : redis.track(new TieredTokenStore(options()));
      if (store instanceof TieredTokenStore) await eventually(async () => assert.equal((store as TieredTokenStore).isLinkUp, true));
    });
    const keys = () => (store instanceof TieredTokenStore ? store.redisStore.keys : store.keys);
    const configureMode = (mode: 'allowlist' | 'blocklist', refreshRotation = false) =>
      JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', mode, refreshRotation } });
    const check = (token: string, requirement = ACCESS) => outcome(JwtManager.instance.verifier, token, requirement);

    const RECORDS: Array<[string, (token: TokenPayload) => string]> = [
      ['revoked "true"', (token) => JSON.stringify({ revoked: 'true', token })],
      ['revoked "false"', (token) => JSON.stringify({ revoked: 'false', token })],
      ['revoked 1', (token) => JSON.stringify({ revoked: 1, token })],
      ['revoked 0', (token) => JSON.stringify({ revoked: 0, token })],
      ['revoked null', (token) => JSON.stringify({ revoked: null, token })],
      ['no revoked', (token) => JSON.stringify({ token })],
      ['no token', () => JSON.stringify({ revoked: false })],
      ['token a string', () => JSON.stringify({ revoked: false, token: 'x' })],
      ['token an array', () => JSON.stringify({ revoked: false, token: [] })],
      ['an extra field', (token) => JSON.stringify({ revoked: false, token, extra: 1 })],
      // JSON.parse keeps the last of two equal keys; the revoke script rewrites the first
      ['revoked twice, the last false', (token) => `{"revoked":true,"token":${JSON.stringify(token)},"revoked":false}`],
      ['revoked twice, the last true', (token) => `{"revoked":false,"token":${JSON.stringify(token)},"revoked":true}`],
      ['token twice', (token) => `{"revoked":false,"token":{},"token":${JSON.stringify(token)}}`],
      ['a claim twice inside the token', (token) => `{"revoked":false,"token":${JSON.stringify(token).replace('{', '{"sub":"mallory",')}}`],
      ['spaces', (token) => JSON.stringify({ revoked: false, token }, null, 1)],
      ['token before revoked', (token) => JSON.stringify({ token, revoked: false })],
      ['an array', () => '[false]'],
      ['not JSON', () => '{"revoked":false,'],
      ['empty', () => ''],
    ];
    for (const mode of ['allowlist', 'blocklist'] as const) {
      for (const [name, value] of RECORDS) it(`${mode}: a token record with ${name}`, async () => {
        configureMode(mode);
        const token = await createAccessToken('alice');
        await redis.env.admin.set(keys().token(payloadOf(token).jti as string), value(payloadOf(token)));
        assert.equal(await check(token), UNAVAILABLE);
      });

      it(`${mode}: a token record of the wrong Redis type (a hash)`, async () => {
        configureMode(mode);
        const token = await createAccessToken('alice');
        const key = keys().token(payloadOf(token).jti as string);
        await redis.env.admin.del(key);
        await redis.env.admin.hset(key, 'revoked', 'true');
        assert.equal(await check(token), UNAVAILABLE);
      });

      for (const cutoff of ['abc', '', '1.5', '-1', '1e400', 'Infinity', '99999999999999999999', ' 12']) {
        it(`${mode}: a cut-off of ${JSON.stringify(cutoff)}, for the check, for revokeAllTokens and for a new token`, async () => {
          configureMode(mode);
          const token = await createAccessToken('alice');
          await redis.env.admin.set(keys().cutoff('alice'), cutoff);
          assert.equal(await check(token), UNAVAILABLE);
          await assert.rejects(revokeAllTokens('alice'), { status: 503 });
          if (store instanceof RedisTokenStore) await assert.rejects(createAccessToken('alice'), { status: 503 });
        });
      }

      const FAMILIES: Array<[string, Record<string, string>]> = [
        ['revoked "true"', { revoked: 'true' }],
        ['revoked "0"', { revoked: '0' }],
        ['cur without par and at', { cur: 'x' }],
        ['par and at without cur', { par: 'x', at: '1' }],
        ['at not a number', { cur: 'x', par: 'y', at: 'soon' }],
        ['an empty cur', { cur: '', par: 'y', at: '1' }],
        ['an unknown field', { extra: '1', until: 'inf' }],
        ["a 0.2 family's per-rotation field", { 'u:x': '1|answer', until: 'inf' }],
        ['a rotated family with an unknown field', { cur: 'x', par: 'y', at: '1', until: 'inf', revokedBy: 'admin' }],
        ['"until" not a number', { cur: 'x', par: 'y', at: '1', until: 'soon' }],
        ['no "until"', { cur: 'x', par: 'y', at: '1' }],
        ['"rec" not JSON', { cur: 'x', par: 'y', at: '1', until: 'inf', rec: '[[' }],
        ['"rec" an empty list', { cur: 'x', par: 'y', at: '1', until: 'inf', rec: '[]' }],
        ['"rec" with a number for a time', { cur: 'x', par: 'y', at: '1', until: 'inf', rec: '[["z",1]]' }],
        ['"rec" of 9 entries', { cur: 'x', par: 'y', at: '1', until: 'inf', rec: JSON.stringify(Array.from({ length: 9 }, (_, i) => [`z${i}`, '1'])) }],
        ['"rec" with an entry of three', { cur: 'x', par: 'y', at: '1', until: 'inf', rec: '[["z","1","2"]]' }],
        ['"rec" without cur, par and at', { until: 'inf', rec: '[["z","1"]]' }],
      ];
      for (const [name, fields] of FAMILIES) it(`${mode}: a family with ${name}, for the check and for a rotation`, async () => {
        configureMode(mode, true);
        const token = await createRefreshToken('alice');
        await redis.env.admin.hset(keys().family(payloadOf(token).fam as string), fields);
        assert.equal(await check(token, REFRESH), UNAVAILABLE);
        await assert.rejects(JwtManager.instance.rotateRefreshToken(payloadOf(token)), { status: 503 });
      });
    }

    it('a family of exactly the fields the store writes passes: the refused shapes above are not refused for their fields alone', async () => {
      configureMode('blocklist', true);
      const token = await createRefreshToken('alice');
      await redis.env.admin.hset(keys().family(payloadOf(token).fam as string), { cur: payloadOf(token).jti as string, par: 'y', at: '1', until: 'inf' });
      assert.equal(await check(token, REFRESH), 'ok');
      const pair = await JwtManager.instance.rotateRefreshToken(payloadOf(token));
      assert.equal(await check(pair.refreshToken, REFRESH), 'ok');
    });

    it("the use-once script itself refuses a family hash with an unknown field (a rotation that skipped the check)", async () => {
      const family = 'fam-unknown-field';
      const use = { family, jti: 'a', successor: 'b', now: Date.now(), reuseIntervalMs: 0, answer: '', keepUntil: undefined, reuseKeepUntil: undefined };
      await redis.env.admin.hset(keys().family(family), { until: 'inf', 'u:a': '1' });
      await assert.rejects(store.useRefreshToken(use), /malformed family/);
      await redis.env.admin.hdel(keys().family(family), 'u:a');
      assert.deepEqual(await store.useRefreshToken(use), { outcome: 'rotated' });
    });

    it('the use-once script itself refuses a "rec" entry that is not [jti, ms] (the shape the check reads)', async () => {
      const family = 'fam-rec-shape';
      const use = { family, jti: 'a', successor: 'b', now: Date.now(), reuseIntervalMs: 0, answer: '', keepUntil: undefined, reuseKeepUntil: undefined };
      await redis.env.admin.hset(keys().family(family), { cur: 'a', par: 'y', at: '1', until: 'inf', rec: '[["z","1","2"]]' });
      await assert.rejects(store.useRefreshToken(use), /malformed family/);
      await redis.env.admin.hset(keys().family(family), 'rec', '[["z","1"]]');
      assert.deepEqual(await store.useRefreshToken(use), { outcome: 'rotated' });
    });

    it('a record exactly as the store writes it passes, a claim named "revoked" inside the token included', async () => {
      configureMode('allowlist');
      const token = await createAccessToken('alice', { claims: { revoked: false } });
      assert.equal(await check(token), 'ok');
      await revokeToken(token);
      assert.equal(await check(token), REVOKED);
    });

    it('revoking a record that holds "revoked" twice is a store error, and the token stays refused', async () => {
      configureMode('allowlist');
      const token = await createAccessToken('alice');
      const key = keys().token(payloadOf(token).jti as string);
      await redis.env.admin.set(key, `{"revoked":false,"token":${JSON.stringify(payloadOf(token))},"revoked":false}`);
      await assert.rejects(revokeToken(token), { status: 503 });
      assert.equal(await check(token), UNAVAILABLE);
    });

    it('revoking a malformed record is a store error too, and leaves it as it was', async () => {
      configureMode('allowlist');
      const token = await createAccessToken('alice');
      const key = keys().token(payloadOf(token).jti as string);
      const bad = JSON.stringify({ revoked: 'false', token: payloadOf(token) });
      await redis.env.admin.set(key, bad);
      await assert.rejects(revokeToken(token), { status: 503 });
      assert.equal(await redis.env.admin.get(key), bad);
    });
  });

  describe('TieredTokenStore', () => {
    const open = async (): Promise<TokenStore> => {
      const store = redis.track(new TieredTokenStore(options()));
      await eventually(async () => assert.equal(store.isLinkUp, true));
      return store;
    };
    defineSessionSuite({ first: open, second: open, propagationMs: 1000 });

    describe('confirmations are authenticated (issue 21 finding 9)', () => {
      /** A client that may publish and subscribe on the channels but reads no key: it forges a confirmation for every request it hears. */
      const forger = async (channel: string, confirmChannel: string, instanceIds: string[]) => {
        const listener = (redis.env.admin as Redis).duplicate();
        const publisher = (redis.env.admin as Redis).duplicate();
        await listener.subscribe(channel);
        listener.on('message', (_: string, message: string) => {
          const match = /^c:([^:]+):/.exec(message);
          if (match === null) return;
          for (const id of instanceIds) {
            void publisher.publish(confirmChannel, `${match[1]} ${id}`); // the unauthenticated form
            void publisher.publish(confirmChannel, `${match[1]} ${id} ${'A'.repeat(43)}`); // a guessed mac
          }
        });
        return () => { listener.disconnect(); publisher.disconnect(); };
      };
      const confirmerOf = (store: TieredTokenStore) => (store as unknown as { confirmer: { instanceId: string; confirmChannel: string } }).confirmer;
      const revokeTimed = async (a: TieredTokenStore) => {
        const errors: unknown[] = [];
        const listener = (message: unknown) => errors.push(message);
        diagnostics.subscribe('koa-jwt-extended:store-error', listener);
        try {
          JwtManager.configure({ secret: SECRET, revocation: { store: a, checks: 'all', mode: 'blocklist' } });
          const token = await createAccessToken('alice');
          const started = Date.now();
          await revokeToken(token);
          return { ms: Date.now() - started, errors: errors.map((e) => (e as { operation?: string }).operation) };
        } finally {
          diagnostics.unsubscribe('koa-jwt-extended:store-error', listener);
        }
      };

      for (const forged of [false, true]) it(forged
        ? 'a forged confirmation for a live instance that has not dropped its entry does not resolve the revocation: it waits confirmTimeoutMs and reports it'
        : 'an honest instance confirms at once (the allowed case beside the forged one)', async function () {
        if (redis.env.kind === 'cluster') this.skip(); // the forger is a standalone client; standalone and Sentinel runs cover the protocol
        const a = redis.track(new TieredTokenStore({ ...options(), confirmTimeoutMs: 400 }));
        const b = redis.track(new TieredTokenStore(options()));
        await eventually(async () => assert.ok(a.isLinkUp && b.isLinkUp));
        const stop = forged ? await forger(a.redisStore.keys.channel, confirmerOf(a).confirmChannel, [confirmerOf(b).instanceId]) : () => undefined;
        if (forged) (b as unknown as { heard(channel: string, message: string): void }).heard = () => undefined; // B hears nothing: it never drops, never confirms
        try {
          const { ms, errors } = await revokeTimed(a);
          if (forged) {
            assert.ok(ms >= 380, `resolved after ${ms} ms: a forged confirmation was counted`);
            assert.deepEqual(errors, ['confirm']);
          } else {
            assert.ok(ms < 380, `took ${ms} ms`);
            assert.deepEqual(errors, []);
          }
        } finally {
          stop();
          JwtManager.reset();
        }
      });
    });

    for (const [name, revoke] of [
      ['revokeToken', (token: string) => revokeToken(token)],
      ['revokeAllTokens', () => revokeAllTokens('alice')],
      ['unrevokeToken then revokeToken', async (token: string) => { await revokeToken(token); await unrevokeToken(token); await revokeToken(token); }],
    ] as const) it(`${name} resolves only once another instance whose invalidations arrive 50 ms late has dropped its entry`, async () => {
      const a = await open();
      const b = (await open()) as TieredTokenStore;
      const late = b as unknown as { heard(channel: string, message: string): void };
      const heard = late.heard.bind(b);
      late.heard = (channel, message) => { setTimeout(() => heard(channel, message), 50); };
      const errors: unknown[] = [];
      const listener = (message: unknown) => errors.push(message);
      diagnostics.subscribe('koa-jwt-extended:store-error', listener);
      try {
        JwtManager.configure({ secret: SECRET, revocation: { store: a, checks: 'all', mode: 'blocklist' } });
        const config = JwtManager.instance.config;
        const other = new TokenVerifier({ ...config, revocation: { ...config.revocation!, store: b } });
        const token = await createAccessToken('alice');
        assert.equal(await outcome(other, token, ACCESS), 'ok'); // cached in B's tier
        await revoke(token);
        assert.equal(await outcome(other, token, ACCESS), REVOKED);
        assert.deepEqual(errors, []);
      } finally {
        diagnostics.unsubscribe('koa-jwt-extended:store-error', listener);
        JwtManager.reset();
      }
    });

    for (const reuseIntervalSeconds of [0, 10]) it(`after await rotateRefreshToken() (interval ${reuseIntervalSeconds}) another instance whose invalidations arrive 50 ms late treats the presented token as used`, async () => {
      const a = await open();
      const b = (await open()) as TieredTokenStore;
      const late = b as unknown as { heard(channel: string, message: string): void };
      const heard = late.heard.bind(b);
      late.heard = (channel, message) => { setTimeout(() => heard(channel, message), 50); };
      try {
        JwtManager.configure({ secret: SECRET, revocation: { store: a, checks: 'all', refreshRotation: true, reuseIntervalSeconds } });
        const config = JwtManager.instance.config;
        const otherConfig = { ...config, revocation: { ...config.revocation!, store: b } };
        const other = new TokenVerifier(otherConfig);
        const first = await createRefreshToken('alice');
        assert.equal(await outcome(other, first, REFRESH), 'ok'); // B's tier holds it as unused
        const pair = await JwtManager.instance.rotateRefreshToken(payloadOf(first));
        if (reuseIntervalSeconds === 0) {
          assert.equal(await outcome(other, first, REFRESH), REVOKED); // reuse, at once
          assert.equal(await outcome(other, pair.refreshToken, REFRESH), REVOKED); // the family went with it
        } else {
          assert.equal(await outcome(other, first, REFRESH), 'ok'); // a retry inside the interval passes the guard...
          await assert.rejects(refuseUsedRefreshToken(otherConfig, payloadOf(first)), RevokedTokenError); // ...but mints nothing else
          assert.equal(await outcome(other, pair.refreshToken, REFRESH), REVOKED);
        }
      } finally {
        JwtManager.reset();
      }
    });

    for (const [name, revoke] of [
      ['its token', (token: string) => revokeToken(token)],
      ['jti with { identity, expiresAt }', (token: string) => revokeToken(payloadOf(token).jti as string, { identity: 'alice', expiresAt: payloadOf(token).exp as number })],
    ] as const) it(`revoking an expired token by ${name} (blocklist) stores and announces nothing, so it waits for no confirmation`, async () => {
      const a = await open();
      await open(); // a second live instance, which a revocation would wait for
      const errors: unknown[] = [];
      const listener = (message: unknown) => errors.push(message);
      diagnostics.subscribe('koa-jwt-extended:store-error', listener);
      try {
        JwtManager.configure({ secret: SECRET, revocation: { store: a, checks: 'all', mode: 'blocklist' } });
        const expired = await createAccessToken('alice', { expiresIn: -310 }); // beyond the clock margin
        const started = Date.now();
        await revoke(expired);
        assert.ok(Date.now() - started < 500, `waited ${Date.now() - started} ms for confirmations of nothing`);
        assert.deepEqual(errors, []);
        await assert.rejects(getStoredToken(payloadOf(expired).jti as string), TokenNotFoundError);
        const live = await createAccessToken('alice');
        await revoke(live); // a live one is still stored, announced and confirmed
        assert.equal(await outcome(JwtManager.instance.verifier, live, ACCESS), REVOKED);
        assert.deepEqual(errors, []);
      } finally {
        diagnostics.unsubscribe('koa-jwt-extended:store-error', listener);
        JwtManager.reset();
      }
    });

    if (setup === standaloneEnv) it('an instance that cannot renew its lease stops using its tier before writers stop waiting for it', async () => {
      const a = await open();
      const b = (await open()) as TieredTokenStore;
      try {
        JwtManager.configure({ secret: SECRET, revocation: { store: a, checks: 'all', mode: 'blocklist' } });
        const config = JwtManager.instance.config;
        const other = new TokenVerifier({ ...config, revocation: { ...config.revocation!, store: b } });
        const token = await createAccessToken('alice');
        assert.equal(await outcome(other, token, ACCESS), 'ok'); // cached in B's tier (ttlMs 5 s)
        // B cut off from Redis in a way its subscriber does not notice: heartbeats fail, messages are lost
        const cut = b as unknown as { confirmer: { renewLease(): Promise<void> }; heard(channel: string, message: string): void };
        cut.confirmer.renewLease = () => Promise.reject(new Error('partitioned'));
        cut.heard = () => undefined;
        await sleep(LEASE_MS - HEARTBEAT_MS + 300);
        assert.equal(b.isLinkUp, false); // gave its tier up before its lease could lapse
        await sleep(HEARTBEAT_MS); // B's lease has lapsed: a writer no longer waits for it
        const started = Date.now();
        await revokeToken(token);
        assert.ok(Date.now() - started < 500, `waited ${Date.now() - started} ms`);
        assert.equal(await outcome(other, token, ACCESS), REVOKED); // B answers from Redis, not from its tier
        delete (cut.confirmer as Partial<typeof cut.confirmer>).renewLease; // the partition heals: heartbeats are stored again
        delete (cut as Partial<typeof cut>).heard;
        await eventually(async () => assert.equal(b.isLinkUp, true), 5000);
        assert.equal(await outcome(other, token, ACCESS), REVOKED);
      } finally {
        JwtManager.reset();
      }
    });

    it('an instance whose link is cut leaves the live set: a revocation does not wait for it', async () => {
      const a = await open();
      const b = (await open()) as TieredTokenStore;
      JwtManager.configure({ secret: SECRET, revocation: { store: a, checks: 'all', mode: 'blocklist' } });
      const masters = redis.env.admin instanceof Cluster ? redis.env.admin.nodes('master') : [redis.env.admin];
      await Promise.all(masters.map((node) => node.client('KILL', 'TYPE', 'pubsub')));
      await eventually(async () => assert.equal(b.isLinkUp, false), 1000);
      await eventually(async () => assert.equal((a as TieredTokenStore).isLinkUp, true), 5000);
      const started = Date.now();
      await revokeToken(await createAccessToken('alice'));
      assert.ok(Date.now() - started < 500, `waited ${Date.now() - started} ms`);
      JwtManager.reset();
    });

    it('serves cut-offs from Redis, not its tier, while its invalidation link is cut', async () => {
      const a = await open();
      const b = (await open()) as TieredTokenStore;
      JwtManager.configure({ secret: SECRET, revocation: { store: a, checks: 'all' } });
      const token = await createAccessToken('alice');
      const config = JwtManager.instance.config;
      const other = new TokenVerifier({ ...config, revocation: { ...config.revocation!, store: b } });
      assert.equal(await outcome(other, token, ACCESS), 'ok'); // cached in B's tier
      const masters = redis.env.admin instanceof Cluster ? redis.env.admin.nodes('master') : [redis.env.admin];
      await Promise.all(masters.map((node) => node.client('KILL', 'TYPE', 'pubsub')));
      await eventually(async () => assert.equal(b.isLinkUp, false), 1000);
      await revokeAllTokens('alice'); // B hears nothing of it
      assert.equal(await outcome(other, token, ACCESS), REVOKED);
      JwtManager.reset();
    });
  });
}
