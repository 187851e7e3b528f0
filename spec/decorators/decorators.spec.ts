import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import {
  Claims, createAccessToken, getJwtIdentity, Identity, JwtHttpError, JwtManager, JwtOptional, JwtRequired,
} from '../../src';
import { expectResponse } from '../support/assert-response';
import { token } from '../support/forge';
import { SECRET, serve, stop } from '../support/server';

@JsonController('/d')
class OptionalController {
  @Get('/feed')
  @JwtOptional()
  feed(@Identity() who?: string) {
    return { who: who ?? null, viaContext: getJwtIdentity() ?? null };
  }

  @Get('/claims')
  @JwtRequired()
  claims(@Identity() who: string, @Claims() claims: Record<string, unknown>) {
    return { who, role: claims.role };
  }
}

/** The decorators on plain createKoaServer(), and on a direct method call. */
describe('decorators', () => {
  describe('over HTTP', () => {
    let server: Server;
    beforeEach(() => { server = serve([OptionalController]); });
    afterEach(() => stop(server));

    it('@JwtOptional() with no token runs anonymously: 200', async () => {
      expectResponse(await request(server).get('/d/feed'), 200, { who: null, viaContext: null });
    });

    it('@JwtOptional() with a valid token injects the identity: 200', async () => {
      expectResponse(await request(server).get('/d/feed').set('Authorization', `Bearer ${token()}`), 200, { who: 'alice', viaContext: 'alice' });
    });

    it('@JwtOptional() with a bad token still refuses: 422', async () => {
      expectResponse(await request(server).get('/d/feed').set('Authorization', 'Bearer'), 422, { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
    });

    it('@JwtOptional() with an expired token still refuses: 401 Token has expired', async () => {
      const expired = await createAccessToken('alice', { expiresIn: -5 });
      expectResponse(await request(server).get('/d/feed').set('Authorization', `Bearer ${expired}`), 401, { msg: 'Token has expired' });
    });

    it('@Identity() and @Claims() inject the identity and the payload', async () => {
      const jwt = await createAccessToken('alice', { claims: { role: 'editor' } });
      expectResponse(await request(server).get('/d/claims').set('Authorization', `Bearer ${jwt}`), 200, { who: 'alice', role: 'editor' });
    });
  });

  describe('a direct call', () => {
    beforeEach(() => JwtManager.configure({ secret: SECRET }));
    afterEach(() => JwtManager.reset());

    it('a @JwtRequired() method called with no token context rejects with 401', async () => {
      await assert.rejects(Promise.resolve(new OptionalController().claims('x', {})), (error: unknown) =>
        error instanceof JwtHttpError && error.status === 401 && JSON.stringify(error.body) === JSON.stringify({ msg: 'Missing Authorization Header' }));
    });

    it('a @JwtOptional() method called with no token context runs anonymously', async () => {
      assert.deepEqual(await new OptionalController().feed(), { who: null, viaContext: null });
    });
  });
});
