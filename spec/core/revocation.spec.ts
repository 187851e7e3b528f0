import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { JsonController, Post } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, getAllStoredTokens, getStoredToken, getStoredTokens, Identity, JwtManager,
  JwtUsageError, MemoryTokenStore, RefreshRequired, revokeToken, TokenNotFoundError, unrevokeToken,
} from '../../src';
import type { RevocationChecks } from '../../src';
import { expectResponse } from '../support/assert-response';
import { SECRET, serve, stop } from '../support/server';

@JsonController('/rv')
class RefreshController {
  @Post('/refresh')
  @RefreshRequired()
  async refresh(@Identity() who: string) {
    return { access_token_for: who };
  }
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}
const jtiOf = (token: string) => payloadOf(token).jti as string;

/** The seed's revocation API on the memory store. */
describe('core: revocation API (memory store)', () => {
  const configure = (checks: RevocationChecks) =>
    JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), checks } });
  afterEach(() => JwtManager.reset());

  describe("checks 'all'", () => {
    beforeEach(() => configure('all'));

    it('a new token is stored unrevoked, with its decoded payload', async () => {
      const token = await createAccessToken('alice');
      assert.deepEqual(await getStoredToken(jtiOf(token)), { token: payloadOf(token), revoked: false });
    });

    it('revokeToken marks it revoked', async () => {
      const jti = jtiOf(await createAccessToken('alice'));
      await revokeToken(jti);
      assert.equal((await getStoredToken(jti)).revoked, true);
    });

    it('unrevokeToken marks it unrevoked again', async () => {
      const jti = jtiOf(await createRefreshToken('alice'));
      await revokeToken(jti);
      await unrevokeToken(jti);
      assert.equal((await getStoredToken(jti)).revoked, false);
    });

    it('getStoredTokens(identity) lists only that identity', async () => {
      const mine = [await createAccessToken('alice'), await createRefreshToken('alice')];
      await createAccessToken('bob');
      const stored = await getStoredTokens('alice');
      assert.deepEqual(stored.map((s) => s.token.jti).sort(), mine.map(jtiOf).sort());
      assert.ok(stored.every((s) => s.token.sub === 'alice' && s.revoked === false));
    });

    it('getStoredTokens of an unknown identity is empty', async () => {
      assert.deepEqual(await getStoredTokens('nobody'), []);
    });

    it('getAllStoredTokens lists every identity', async () => {
      const all = [await createAccessToken('alice'), await createRefreshToken('bob')];
      const stored = await getAllStoredTokens();
      assert.deepEqual(stored.map((s) => s.token.jti).sort(), all.map(jtiOf).sort());
    });

    it('a stored record is a copy: changing it does not revoke nor unrevoke', async () => {
      const jti = jtiOf(await createAccessToken('alice'));
      const record = await getStoredToken(jti);
      record.revoked = true;
      assert.equal((await getStoredToken(jti)).revoked, false);
    });

    for (const [name, call] of [
      ['revokeToken', (jti: string) => revokeToken(jti)],
      ['unrevokeToken', (jti: string) => unrevokeToken(jti)],
      ['getStoredToken', (jti: string) => getStoredToken(jti)],
    ] as const) {
      it(`${name} of an unknown jti: TokenNotFoundError`, async () => {
        await assert.rejects(call('00000000-0000-4000-8000-000000000000'), TokenNotFoundError);
      });

      it(`${name} of an empty jti: TokenNotFoundError`, async () => {
        await assert.rejects(call(''), TokenNotFoundError);
      });
    }

    it('TokenNotFoundError carries the jti and a 404 status', async () => {
      await assert.rejects(revokeToken('nope'), (error: unknown) => error instanceof TokenNotFoundError && error.jti === 'nope' && error.status === 404);
    });
  });

  describe("checks 'refresh'", () => {
    let server: Server;
    afterEach(() => stop(server));

    it('access tokens are not stored', async () => {
      configure('refresh');
      const access = await createAccessToken('alice');
      const refresh = await createRefreshToken('alice');
      await assert.rejects(getStoredToken(jtiOf(access)), TokenNotFoundError);
      assert.deepEqual((await getStoredTokens('alice')).map((s) => s.token.jti), [jtiOf(refresh)]);
    });

    it('a revoked refresh token is refused on /refresh, then accepted after unrevoke', async () => {
      server = serve([RefreshController], { revocation: { store: new MemoryTokenStore(), checks: 'refresh' } });
      const refresh = await createRefreshToken('alice');
      const post = () => request(server).post('/rv/refresh').set('Authorization', `Bearer ${refresh}`);
      expectResponse(await post(), 200, { access_token_for: 'alice' });
      await revokeToken(jtiOf(refresh));
      expectResponse(await post(), 401, { msg: 'Token has been revoked' });
      await unrevokeToken(jtiOf(refresh));
      expectResponse(await post(), 200, { access_token_for: 'alice' });
    });
  });

  describe('revocation off', () => {
    beforeEach(() => JwtManager.configure({ secret: SECRET }));

    it('revokeToken: a clear usage error', async () => {
      await assert.rejects(revokeToken('x'), (error: unknown) => error instanceof JwtUsageError && /revocation is not enabled/.test(error.message));
    });

    it('getAllStoredTokens: a clear usage error', async () => {
      await assert.rejects(getAllStoredTokens(), JwtUsageError);
    });
  });
});
