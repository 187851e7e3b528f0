/**
 * The getters work inside the checks after verification (DESIGN 0.3 G): `claimsCheck`,
 * `tokenVerificationLoader` and `userLookupLoader` read `getJwtIdentity()`,
 * `getJwtClaims()` and `getJwtHeader()` of the token being checked, through every door
 * (decorators, `jwtRequired()`, `verifyJwtInRequest()` with no jwtContext() in front,
 * the testing kit). Each check decides by a getter, so a refusal proves the getter read.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { Get, JsonController, useKoaServer } from 'routing-controllers';
import {
  createAccessToken, getJwtClaims, getJwtHeader, getJwtIdentity, GuardOptions, JwtError, JwtManager, JwtRequired, jwtRequired,
  verifyJwtInRequest,
} from '../../src';
import { JwtHttpError, withToken } from '../../src/testing';
import { SECRET } from '../support/server';

/** Passes alice and bob, refuses mallory: decided by the getters alone. */
const CHECK: GuardOptions = { claimsCheck: () => getJwtIdentity() !== 'mallory' && getJwtHeader().alg === 'HS256' };

@JsonController('/checks')
class ChecksController {
  @Get('/me')
  @JwtRequired(CHECK)
  me() {
    return { who: getJwtIdentity() };
  }
}

function app(): Server {
  JwtManager.configure({
    secret: SECRET,
    // 400 for 'blocked', read through getJwtClaims()
    tokenVerificationLoader: () => getJwtClaims().sub !== 'blocked' && typeof getJwtClaims().jti === 'string',
    // the user found by getJwtIdentity(); 'ghost' has none (401)
    userLookupLoader: () => ({ alice: { name: 'Alice' }, bob: { name: 'Bob' }, mallory: { name: 'M' }, blocked: { name: 'B' } })[getJwtIdentity() as string],
  });
  const koa = new Koa();
  koa.silent = true;
  koa.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof JwtError)) throw error;
      ctx.status = error.status;
      ctx.body = { msg: error.message };
    }
  });
  const router = new Router();
  router.get('/mw', jwtRequired(CHECK), (ctx) => {
    ctx.body = { who: getJwtIdentity() };
  });
  router.get('/verify', async (ctx) => {
    ctx.body = { who: (await verifyJwtInRequest(ctx, CHECK))!.sub };
  });
  koa.use(router.routes());
  useKoaServer(koa, { controllers: [ChecksController] });
  return koa.listen(0);
}

const EXPECTED: Record<string, [number, unknown]> = {
  alice: [200, { who: 'alice' }],
  mallory: [403, { msg: 'Insufficient permissions' }],
  blocked: [400, { msg: 'User claims verification failed' }],
  ghost: [401, { msg: 'Error loading the user ghost' }],
};

describe('doors: the getters work inside claimsCheck, tokenVerificationLoader and userLookupLoader', () => {
  let server: Server;
  beforeEach(() => {
    server = app();
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  for (const path of ['/checks/me', '/mw', '/verify']) {
    for (const [identity, [status, body]] of Object.entries(EXPECTED)) {
      it(`${path}, ${identity}: ${status}`, async () => {
        const res = await request(server).get(path).set('Authorization', `Bearer ${await createAccessToken(identity)}`);
        assert.deepEqual([res.status, res.body], [status, body]);
      });
    }
  }

  it('withToken: the same checks pass alice and refuse mallory (403) and ghost (401)', async () => {
    const controller = new ChecksController();
    assert.deepEqual(await withToken(await createAccessToken('alice'), () => controller.me()), { who: 'alice' });
    for (const [identity, status] of [['mallory', 403], ['blocked', 400], ['ghost', 401]] as const) {
      await assert.rejects(withToken(await createAccessToken(identity), () => controller.me()), (error: JwtHttpError) => error.status === status);
    }
  });

  it('outside the checks the getters still refuse: the context ends with the check', async () => {
    await request(server).get('/verify').set('Authorization', `Bearer ${await createAccessToken('alice')}`).expect(200);
    assert.throws(() => getJwtIdentity(), /outside a protected request/);
  });
});
