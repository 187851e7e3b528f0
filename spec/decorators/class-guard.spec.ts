import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createKoaServer, Get, JsonController, Post } from 'routing-controllers';
import { FreshJwtRequired, Identity, JwtManager, JwtOptional, JwtRequired } from '../../src';
import { authHeader, fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';

const SECRET = 'class-guard-spec-secret-of-32-bytes!!!';

@JsonController('/class-guard')
@JwtRequired()
class AccountController {
  @Get('/me')
  me(@Identity() username: string) {
    return { username: this.shout(username) };
  }

  @Post('/password')
  @FreshJwtRequired()
  changePassword(@Identity() username: string) {
    return { changed: username };
  }

  @Get('/public')
  @JwtOptional()
  publicPage(@Identity() username?: string) {
    return { visitor: username ?? null };
  }

  /** Not a route: a helper the class guard must leave alone. */
  shout(text: string) {
    return text.toUpperCase();
  }
}

describe('a guard decorator on a controller class', () => {
  let server: Server;
  beforeEach(() => {
    JwtManager.configure({ secret: SECRET });
    server = createKoaServer({ controllers: [AccountController] }).listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  it('protects every route method without a guard of its own', async () => {
    const missing = await request(server).get('/class-guard/me');
    assert.deepEqual([missing.status, missing.body], [401, { msg: 'Missing Authorization Header' }]);
    const ok = await request(server).get('/class-guard/me').set(authHeader(await fakeAccessToken('alice')));
    assert.deepEqual([ok.status, ok.body], [200, { username: 'ALICE' }]);
  });

  it("a method's own guard wins over the class guard (stricter)", async () => {
    const res = await request(server).post('/class-guard/password').set(authHeader(await fakeAccessToken('alice', { fresh: false })));
    assert.deepEqual([res.status, res.body], [401, { msg: 'Fresh token required' }]);
  });

  it("a method's own guard wins over the class guard (looser)", async () => {
    const res = await request(server).get('/class-guard/public');
    assert.deepEqual([res.status, res.body], [200, { visitor: null }]);
  });

  it('leaves methods that are not routes alone', () => {
    assert.equal(new AccountController().shout('hi'), 'HI');
  });

  it('direct calls of a class-guarded method are checked too', async () => {
    const controller = new AccountController();
    await assert.rejects(Promise.resolve(controller.me('x')), (error: JwtHttpError) => error.status === 401);
    assert.deepEqual(await withToken(await fakeAccessToken('bob'), () => controller.me('')), { username: 'BOB' });
  });

  it('two guard decorators on one method are refused when the class is defined', () => {
    assert.throws(() => {
      class Twice {
        @JwtRequired()
        @FreshJwtRequired()
        twice() {
          return 1;
        }
      }
      return Twice;
    }, /twice has two guard decorators; keep one/);
  });
});
