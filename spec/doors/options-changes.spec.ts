/**
 * `verifyJwtInRequest(ctx, options)`: a later change to the same options object is never
 * silently ignored (DESIGN 0.3 G). Its guard is reused per options object only while the
 * object still says the same; a change (a flag, a list's contents, a new key) makes a new one.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import request from 'supertest';
import { createAccessToken, GuardOptions, JwtError, JwtManager, verifyJwtInRequest } from '../../src';
import { SECRET } from '../support/server';

describe('doors: verifyJwtInRequest() honours a change to its options object', () => {
  let server: Server;
  let options: GuardOptions;
  let token: string;
  beforeEach(async () => {
    JwtManager.configure({ secret: SECRET });
    options = {};
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      try {
        ctx.body = { who: (await verifyJwtInRequest(ctx, options))?.sub ?? null };
      } catch (error) {
        if (!(error instanceof JwtError)) throw error;
        ctx.status = error.status;
        ctx.body = { msg: error.message };
      }
    });
    server = app.listen(0);
    token = await createAccessToken('alice', { claims: { roles: ['user'] } });
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  const get = (withToken: boolean) => {
    const req = request(server).get('/');
    return withToken ? req.set('Authorization', `Bearer ${token}`) : req;
  };

  it('optional switched on after the first request: an anonymous request then passes', async () => {
    assert.equal((await get(false)).status, 401);
    options.optional = true;
    const res = await get(false);
    assert.deepEqual([res.status, res.body], [200, { who: null }]);
  });

  it('fresh switched on after the first request: a non-fresh token is then refused', async () => {
    assert.equal((await get(true)).status, 200);
    options.fresh = true;
    const res = await get(true);
    assert.deepEqual([res.status, res.body], [401, { msg: 'Fresh token required' }]);
  });

  it('roles added, then the list changed in place: each change decides the next request', async () => {
    options.roles = ['user'];
    assert.equal((await get(true)).status, 200);
    options.roles.push('admin');
    assert.equal((await get(true)).status, 200, 'still holds user');
    options.roles.splice(0, options.roles.length, 'admin');
    const res = await get(true);
    assert.deepEqual([res.status, res.body], [403, { msg: 'Insufficient permissions' }]);
  });

  it('a claimsCheck replaced: the new one decides', async () => {
    options.claimsCheck = () => true;
    assert.equal((await get(true)).status, 200);
    options.claimsCheck = () => false;
    assert.equal((await get(true)).status, 403);
  });

  it('a key added later that is no option: the next call rejects with the usage error, not silently', async () => {
    assert.equal((await get(true)).status, 200);
    (options as Record<string, unknown>).fersh = true;
    await assert.rejects(verifyJwtInRequest({} as never, options), /unknown guard option 'fersh'/);
  });
});
