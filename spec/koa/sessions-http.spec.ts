import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Get, HttpCode, JsonController, Post } from 'routing-controllers';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  Claims, createAccessToken, createRefreshToken, decodeToken, Identity, JwtRequired, MemoryTokenStore, RefreshRequired,
  revokeAllTokens, revokeToken, rotateRefreshToken,
} from '../../src';
import type { JwtOptions, TokenPayload } from '../../src';
import { expectResponse } from '../support/assert-response';
import { SECRET, serve, stop } from '../support/server';

@JsonController('/sx')
class SessionController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() who: string) {
    return { who };
  }

  @Post('/refresh')
  @RefreshRequired()
  async refresh() {
    return rotateRefreshToken();
  }

  /** A refresh route that does not rotate: mints a new access token from the refresh token. */
  @Post('/mint')
  @RefreshRequired()
  async mint(@Identity() who: string) {
    return { accessToken: await createAccessToken(who) };
  }

  /** A refresh route that mints a new refresh token instead of rotating (issue 21 finding 7). */
  @Post('/mint-refresh')
  @RefreshRequired()
  async mintRefresh(@Identity() who: string) {
    return { accessToken: await createAccessToken(who), refreshToken: await createRefreshToken(who) };
  }

  /** The same route minting for someone else (an admin's): that is a new session, not the caller's. */
  @Post('/mint-refresh-for-bob')
  @RefreshRequired()
  async mintRefreshForBob() {
    return { refreshToken: await createRefreshToken('bob') };
  }

  /** For `requestContext: false`: the payload comes from @Claims(). */
  @Post('/refresh-explicit')
  @RefreshRequired()
  async refreshExplicit(@Claims() payload: TokenPayload) {
    return rotateRefreshToken({ payload });
  }

  @Post('/logout-everywhere')
  @HttpCode(200)
  @JwtRequired()
  async logoutEverywhere(@Identity() who: string) {
    await revokeAllTokens(who);
    return { msg: 'ok' };
  }
}

const REVOKED = { msg: 'Token has been revoked' };

/** Issue 13 through a real server: the guard refuses what the store says is revoked. */
describe('koa: sessions over HTTP', () => {
  let server: Server | undefined;
  afterEach(() => stop(server));
  const start = (revocation: Partial<NonNullable<JwtOptions['revocation']>> = {}, extra: Partial<JwtOptions> = {}) => {
    server = serve([SessionController], { revocation: { store: new MemoryTokenStore(), checks: 'all', ...revocation }, ...extra });
  };
  const post = (path: string, token: string) => request(server!).post(`/sx${path}`).set('Authorization', `Bearer ${token}`);
  const me = (token: string) => request(server!).get('/sx/me').set('Authorization', `Bearer ${token}`);

  describe('refresh rotation', () => {
    it('answers a new pair, whose access token opens /me', async () => {
      start({ refreshRotation: true });
      const res = await post('/refresh', await createRefreshToken('alice'));
      assert.equal(res.status, 200);
      expectResponse(await me(res.body.accessToken), 200, { who: 'alice' });
    });

    it('refuses the spent refresh token at the guard (interval 0): 401, and the family access token with it', async () => {
      start({ refreshRotation: true, reuseIntervalSeconds: 0 });
      const spent = await createRefreshToken('alice');
      const { accessToken } = (await post('/refresh', spent)).body;
      expectResponse(await post('/refresh', spent), 401, REVOKED);
      expectResponse(await me(accessToken), 401, REVOKED);
    });

    it('two tabs refreshing at once (default interval) both get the same pair, which works afterwards', async () => {
      start({ refreshRotation: true });
      const token = await createRefreshToken('alice');
      const [a, b] = await Promise.all([post('/refresh', token), post('/refresh', token)]);
      expectResponse(b, 200, a.body);
      expectResponse(await me(a.body.accessToken), 200, { who: 'alice' });
      assert.equal((await post('/refresh', a.body.refreshToken)).status, 200);
    });

    it('inside the interval a used refresh token yields only its pair: a route minting with it refuses it as reuse', async () => {
      start({ refreshRotation: true });
      const token = await createRefreshToken('alice');
      const pair = (await post('/refresh', token)).body;
      expectResponse(await post('/mint', token), 401, REVOKED);
      expectResponse(await post('/refresh', pair.refreshToken), 401, REVOKED); // the family is gone
    });

    it('a route minting with an unused refresh token still works (the refused case above is reuse only)', async () => {
      start({ refreshRotation: true });
      const res = await post('/mint', await createRefreshToken('alice'));
      assert.equal(res.status, 200);
      expectResponse(await me(res.body.accessToken), 200, { who: 'alice' });
    });

    it('answers a retry inside reuseIntervalSeconds with the same pair', async () => {
      start({ refreshRotation: true, reuseIntervalSeconds: 30 });
      const token = await createRefreshToken('alice');
      const first = await post('/refresh', token);
      const retry = await post('/refresh', token);
      expectResponse(retry, 200, first.body);
    });

    it('works with requestContext: false when the route passes the payload', async () => {
      start({ refreshRotation: true, reuseIntervalSeconds: 0 }, { requestContext: false });
      const token = await createRefreshToken('alice');
      assert.equal((await post('/refresh-explicit', token)).status, 200);
      expectResponse(await post('/refresh-explicit', token), 401, REVOKED);
    });
  });

  describe('maxSessionLifetime: a refresh token minted in a refresh route keeps the session start (issue 21 finding 7)', () => {
    const BOUND = 3600;
    /** A refresh token of a session that started `ago` seconds before now, as the library mints it (exp capped at fst + the bound). */
    const sessionStartedAgo = async (ago: number) => {
      const payload = await decodeToken(await createRefreshToken('alice'));
      const fst = Math.floor(Date.now() / 1000) - ago;
      const exp = Math.min(payload.exp as number, fst + BOUND);
      return { fst, token: jwt.sign({ ...payload, fst, exp }, SECRET, { algorithm: 'HS256' }) };
    };
    for (const refreshRotation of [true, false]) describe(refreshRotation ? 'rotation on' : 'rotation off', () => {
      beforeEach(() => start({ mode: 'blocklist', refreshRotation, maxSessionLifetime: BOUND }, { refreshTokenExpires: '30d', leeway: 60 }));

      it("createRefreshToken() there carries the presented token's fst, and its exp stays inside start + the bound", async () => {
        const { fst, token } = await sessionStartedAgo(BOUND - 120);
        const res = await post('/mint-refresh', token);
        assert.equal(res.status, 200, res.text);
        const minted = await decodeToken(res.body.refreshToken);
        assert.equal(minted.fst, fst); // not now: the absolute lifetime does not start again
        assert.ok((minted.exp as number) <= fst + BOUND, `exp ${minted.exp} past the session end ${fst + BOUND}`);
        const access = await decodeToken(res.body.accessToken);
        assert.ok((access.exp as number) <= fst + BOUND, 'the access token minted there ends with the session too');
        expectResponse(await me(res.body.accessToken), 200, { who: 'alice' });
      });

      it('chained through the route, the session still ends at the first start + the bound', async () => {
        const { fst, token } = await sessionStartedAgo(BOUND - 120);
        let current = token;
        for (let i = 0; i < 3; i += 1) current = (await post('/mint-refresh', current)).body.refreshToken;
        const minted = await decodeToken(current);
        assert.deepEqual([minted.fst, (minted.exp as number) <= fst + BOUND], [fst, true]);
      });

      it('once the session has ended (the token inside its leeway), minting there is refused: 401 Token has expired', async () => {
        const { token } = await sessionStartedAgo(BOUND + 1);
        // the presented token expired 1 s ago, inside its 60 s leeway: the guard lets it through, the session bound refuses the mint
        expectResponse(await post('/mint-refresh', token), 401, { msg: 'Token has expired' });
      });

      it("a token minted there for another identity starts that identity's own session", async () => {
        const { fst, token } = await sessionStartedAgo(BOUND - 120);
        const res = await post('/mint-refresh-for-bob', token);
        assert.equal(res.status, 200, res.text);
        const minted = await decodeToken(res.body.refreshToken);
        assert.equal(minted.sub, 'bob');
        assert.ok((minted.fst as number) > fst);
      });
    });
  });

  describe('log out everywhere', () => {
    it("refuses the caller's earlier tokens at once with checks 'all'; a new login opens /me", async () => {
      start();
      const older = await createAccessToken('alice');
      expectResponse(await post('/logout-everywhere', older), 200, { msg: 'ok' });
      expectResponse(await me(older), 401, REVOKED);
      expectResponse(await me(await createAccessToken('alice')), 200, { who: 'alice' });
    });
  });

  describe('blocklist mode', () => {
    it('accepts an unrevoked token the store never saw, and refuses it once revoked', async () => {
      start({ mode: 'blocklist' });
      const token = await createAccessToken('alice');
      expectResponse(await me(token), 200, { who: 'alice' });
      await revokeToken(token);
      expectResponse(await me(token), 401, REVOKED);
    });
  });
});
