import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Get, HttpCode, JsonController, Post } from 'routing-controllers';
import request from 'supertest';
import {
  Claims, createAccessToken, createRefreshToken, Identity, JwtRequired, MemoryTokenStore, RefreshRequired,
  revokeAllTokens, revokeToken, rotateRefreshToken,
} from '../../src';
import type { JwtOptions, TokenPayload } from '../../src';
import { expectResponse } from '../support/assert-response';
import { serve, stop } from '../support/server';

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
