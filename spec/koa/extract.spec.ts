import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import { Identity, JwtRequired } from '../../src';
import { expectResponse } from '../support/assert-response';
import { token } from '../support/forge';
import { serve, stop } from '../support/server';

@JsonController('/x')
class HeaderController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() who: string) {
    return { hello: who };
  }
}

/** Header parsing: names, schemes, lists, whitespace, and the messages that follow the options. */
describe('koa: token from the header', () => {
  let server: Server;
  afterEach(() => stop(server));
  const me = (name: string, value?: string) => {
    const req = request(server).get('/x/me');
    return value === undefined ? req : req.set(name, value);
  };

  describe("headerName 'X-Token'", () => {
    beforeEach(() => { server = serve([HeaderController], { headerName: 'X-Token' }); });

    it('no header: 401 Missing X-Token Header', async () => {
      expectResponse(await me('X-Token'), 401, { msg: 'Missing X-Token Header' });
    });

    it('the token in Authorization is not looked at: 401 Missing X-Token Header', async () => {
      expectResponse(await me('Authorization', `Bearer ${token()}`), 401, { msg: 'Missing X-Token Header' });
    });

    it("another scheme: 401 Missing 'Bearer' type in 'X-Token' header", async () => {
      expectResponse(await me('X-Token', 'Basic abc'), 401, { msg: "Missing 'Bearer' type in 'X-Token' header. Expected 'X-Token: Bearer <JWT>'" });
    });

    it('Bearer with no token: 422 Bad X-Token header', async () => {
      expectResponse(await me('X-Token', 'Bearer'), 422, { msg: "Bad X-Token header. Expected 'X-Token: Bearer <JWT>'" });
    });

    it('Bearer <jwt> in X-Token: 200', async () => {
      expectResponse(await me('X-Token', `Bearer ${token()}`), 200, { hello: 'alice' });
    });
  });

  describe("headerType '' (the bare token)", () => {
    beforeEach(() => { server = serve([HeaderController], { headerType: '' }); });

    it('the bare token: 200', async () => {
      expectResponse(await me('Authorization', token()), 200, { hello: 'alice' });
    });

    it("Bearer <jwt>: 422 Bad Authorization header. Expected 'Authorization: <JWT>'", async () => {
      expectResponse(await me('Authorization', `Bearer ${token()}`), 422, { msg: "Bad Authorization header. Expected 'Authorization: <JWT>'" });
    });

    it('no header: 401 Missing Authorization Header', async () => {
      expectResponse(await me('Authorization'), 401, { msg: 'Missing Authorization Header' });
    });
  });

  describe("headerName 'X-Token' and headerType ''", () => {
    beforeEach(() => { server = serve([HeaderController], { headerName: 'X-Token', headerType: '' }); });

    it("two words: 422 Bad X-Token header. Expected 'X-Token: <JWT>'", async () => {
      expectResponse(await me('X-Token', `Bearer ${token()}`), 422, { msg: "Bad X-Token header. Expected 'X-Token: <JWT>'" });
    });
  });

  describe("headerType 'JWT'", () => {
    beforeEach(() => { server = serve([HeaderController], { headerType: 'JWT' }); });

    it('JWT <jwt>: 200', async () => {
      expectResponse(await me('Authorization', `JWT ${token()}`), 200, { hello: 'alice' });
    });

    it("Bearer <jwt>: 401 Missing 'JWT' type", async () => {
      expectResponse(await me('Authorization', `Bearer ${token()}`), 401, { msg: "Missing 'JWT' type in 'Authorization' header. Expected 'Authorization: JWT <JWT>'" });
    });

    it("JWT with extra parts: 422 Bad Authorization header. Expected 'Authorization: JWT <JWT>'", async () => {
      expectResponse(await me('Authorization', `JWT ${token()} more`), 422, { msg: "Bad Authorization header. Expected 'Authorization: JWT <JWT>'" });
    });
  });

  describe('the default Bearer scheme', () => {
    beforeEach(() => { server = serve([HeaderController]); });

    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      it(`matches '${scheme}' case-insensitively: 200`, async () => {
        expectResponse(await me('Authorization', `${scheme} ${token()}`), 200, { hello: 'alice' });
      });
    }

    it('finds the token in a comma-separated list (Basic abc, Bearer <jwt>): 200', async () => {
      expectResponse(await me('Authorization', `Basic abc, Bearer ${token()}`), 200, { hello: 'alice' });
    });

    it('finds the token first in a list (Bearer <jwt>, Basic abc): 200', async () => {
      expectResponse(await me('Authorization', `Bearer ${token()}, Basic abc`), 200, { hello: 'alice' });
    });

    it("two Bearer entries in the list: 401 Missing 'Bearer' type", async () => {
      const res = await me('Authorization', `Bearer ${token()}, Bearer ${token({ sub: 'mallory' })}`);
      expectResponse(res, 401, { msg: "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'" });
    });

    it('surrounding whitespace and tabs are ignored: 200', async () => {
      expectResponse(await me('Authorization', ` \t Bearer \t ${token()} \t `), 200, { hello: 'alice' });
    });

    it('a blank header counts as none: 401 Missing Authorization Header', async () => {
      expectResponse(await me('Authorization', '   '), 401, { msg: 'Missing Authorization Header' });
    });

    it('a list with an empty entry before Bearer: 200', async () => {
      expectResponse(await me('Authorization', `, Bearer ${token()}`), 200, { hello: 'alice' });
    });
  });

  describe("errorMessageKey 'error'", () => {
    beforeEach(() => { server = serve([HeaderController], { errorMessageKey: 'error' }); });

    it('a 401 uses the key', async () => {
      expectResponse(await me('Authorization'), 401, { error: 'Missing Authorization Header' });
    });

    it('a 422 uses the key', async () => {
      expectResponse(await me('Authorization', 'Bearer'), 422, { error: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
    });

    it('the body has no msg key', async () => {
      const res = await me('Authorization', 'Basic abc');
      assert.equal(res.status, 401);
      assert.deepEqual(Object.keys(res.body), ['error']);
    });
  });
});
