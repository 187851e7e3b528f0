import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createKoaServer, Get, JsonController } from 'routing-controllers';
import { Claims, getJwtIdentity, Identity, JwtManager, JwtRequired, TokenPayload } from '../../src';
import { authHeader, fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';

const SECRET = 'request-context-spec-secret-32-bytes!!';

@JsonController('/ctx-off')
class NoContextController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() username: string, @Claims() claims: TokenPayload) {
    let fromContext: string;
    try {
      fromContext = String(getJwtIdentity());
    } catch (error) {
      fromContext = (error as Error).message;
    }
    return { username, type: claims.type, fromContext };
  }
}

describe('requestContext: false (no AsyncLocalStorage)', () => {
  let server: Server;
  beforeEach(() => {
    JwtManager.configure({ secret: SECRET, requestContext: false });
    server = createKoaServer({ controllers: [NoContextController] }).listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  it('the route still checks the token and injects @Identity() and @Claims()', async () => {
    const res = await request(server).get('/ctx-off/me').set(authHeader(await fakeAccessToken('alice')));
    assert.equal(res.status, 200);
    assert.equal(res.body.username, 'alice');
    assert.equal(res.body.type, 'access');
  });

  it('getJwtIdentity() says the context is off, and what to use instead', async () => {
    const res = await request(server).get('/ctx-off/me').set(authHeader(await fakeAccessToken('alice')));
    assert.equal(res.body.fromContext, 'getJwtIdentity() needs the request context, which is off (requestContext: false): use @Identity(), @Claims() or ctx.state.jwt');
  });

  it('a request without a token is still refused', async () => {
    const res = await request(server).get('/ctx-off/me');
    assert.deepEqual([res.status, res.body], [401, { msg: 'Missing Authorization Header' }]);
  });

  it('direct calls are still checked: withToken passes, no context rejects', async () => {
    const controller = new NoContextController();
    const result = (await withToken(await fakeAccessToken('bob'), () => controller.me('', {} as TokenPayload))) as { username: string };
    assert.equal(result.username, 'bob');
    await assert.rejects(Promise.resolve(controller.me('', {} as TokenPayload)), (error: JwtHttpError) => error.status === 401);
  });
});
