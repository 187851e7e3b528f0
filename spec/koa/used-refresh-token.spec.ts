import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import Redis from 'ioredis';
import { Get, JsonController, Post } from 'routing-controllers';
import request from 'supertest';
import {
  Claims, createAccessToken, createRefreshToken, createTokenPair, Identity, JwtRequired, JwtManager, jwtContext, jwtRequired, MemoryTokenStore,
  RedisTokenStore, RefreshRequired, rotateRefreshToken, TieredTokenStore, verifyJwtInRequest,
} from '../../src';
import type { JwtOptions, TokenPayload, TokenStore } from '../../src';
import { expectResponse } from '../support/assert-response';
import { flush, requireRedis, StandaloneRedis, startStandalone } from '../support/redis';
import { SECRET, serve } from '../support/server';

const REVOKED = { msg: 'Token has been revoked' };
type Door = 'jwtRequired' | 'jwtRequired, requestContext false' | 'verifyJwtInRequest behind jwtContext' | 'verifyJwtInRequest behind jwtContext, requestContext false' | 'decorators';

@JsonController('/d')
class RefreshController {
  @Get('/access') @JwtRequired()
  access(@Identity() who: string) { return { who }; }

  @Post('/refresh') @RefreshRequired()
  refresh(@Claims() payload: TokenPayload) { return rotateRefreshToken({ payload }); }

  @Get('/noop') @RefreshRequired()
  noop(@Identity() who: string) { return { who }; }

  @Post('/mint') @RefreshRequired()
  async mint(@Identity() who: string) { return { accessToken: await createAccessToken(who) }; }

  @Post('/manager-mint') @RefreshRequired()
  async managerMint(@Identity() who: string) { return { accessToken: await JwtManager.instance.createAccessToken(who) }; }

  @Post('/new-refresh') @RefreshRequired()
  async newRefresh(@Identity() who: string) { return { refreshToken: await createRefreshToken(who) }; }

  @Post('/pair') @RefreshRequired()
  async pair(@Identity() who: string) { return createTokenPair(who); }

  @Post('/manager-pair') @RefreshRequired()
  async managerPair(@Identity() who: string) { return JwtManager.instance.createTokenPair(who); }

  @Post('/rotate-then-mint') @RefreshRequired()
  async rotateThenMint(@Claims() payload: TokenPayload) {
    const pair = await rotateRefreshToken({ payload });
    return { ...pair, extra: await JwtManager.instance.createAccessToken(payload.sub as string) };
  }
}

/** The same routes through the Koa doors (who = identity from ctx.state.jwt, which every door sets). */
function koaApp(door: Door): Koa {
  const app = new Koa();
  app.silent = true;
  const behindContext = door.startsWith('verifyJwtInRequest');
  if (behindContext) app.use(jwtContext());
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = (error as { status?: number }).status ?? 500;
      ctx.body = { msg: (error as Error).message };
    }
  });
  const router = new Router({ prefix: '/d' });
  const guard = (refresh: boolean): Koa.Middleware[] => (behindContext
    ? [async (ctx, next) => { await verifyJwtInRequest(ctx, { refresh }); return next(); }]
    : [jwtRequired({ refresh })]);
  const who = (ctx: Koa.Context) => (ctx.state.jwt as TokenPayload).sub as string;
  router.get('/access', ...guard(false), (ctx) => { ctx.body = { who: who(ctx) }; });
  router.post('/refresh', ...guard(true), async (ctx) => { ctx.body = await rotateRefreshToken({ payload: ctx.state.jwt }); });
  router.get('/noop', ...guard(true), (ctx) => { ctx.body = { who: who(ctx) }; });
  router.post('/mint', ...guard(true), async (ctx) => { ctx.body = { accessToken: await createAccessToken(who(ctx)) }; });
  router.post('/manager-mint', ...guard(true), async (ctx) => { ctx.body = { accessToken: await JwtManager.instance.createAccessToken(who(ctx)) }; });
  router.post('/new-refresh', ...guard(true), async (ctx) => { ctx.body = { refreshToken: await createRefreshToken(who(ctx)) }; });
  router.post('/pair', ...guard(true), async (ctx) => { ctx.body = await createTokenPair(who(ctx)); });
  router.post('/manager-pair', ...guard(true), async (ctx) => { ctx.body = await JwtManager.instance.createTokenPair(who(ctx)); });
  router.post('/rotate-then-mint', ...guard(true), async (ctx) => {
    const pair = await rotateRefreshToken({ payload: ctx.state.jwt });
    ctx.body = { ...pair, extra: await JwtManager.instance.createAccessToken(who(ctx)) };
  });
  router.get('/swallow', ...guard(true), async (ctx) => {
    try {
      await createAccessToken(who(ctx));
    } catch {
      // the handler hides the refusal: the door still answers reuse
    }
    ctx.cookies.set('session', 'minted-elsewhere');
    ctx.body = { who: who(ctx) };
  });
  app.use(router.routes());
  return app;
}

type Stores = { name: string; make: () => TokenStore };

function defineDoors(stores: () => Stores[]) {
  const doors: Door[] = ['jwtRequired', 'jwtRequired, requestContext false', 'verifyJwtInRequest behind jwtContext', 'verifyJwtInRequest behind jwtContext, requestContext false', 'decorators'];
  for (const door of doors) {
    describe(`door: ${door}`, () => {
      for (const kind of ['memory', 'redis', 'tiered']) {
        describe(`store: ${kind}`, () => {
          let server: Server;
          let store: TokenStore;
          beforeEach(function () {
            const found = stores().find((s) => s.name === kind);
            if (found === undefined) return this.skip();
            store = found.make();
            const options: Partial<JwtOptions> = {
              revocation: { store, checks: 'all', refreshRotation: true, reuseIntervalSeconds: 30 },
              ...(door.includes('requestContext false') ? { requestContext: false } : {}),
            };
            if (door === 'decorators') server = serve([RefreshController], options);
            else {
              JwtManager.configure({ secret: SECRET, ...options } as JwtOptions);
              server = koaApp(door).listen(0);
            }
          });
          afterEach(async () => {
            server?.close();
            await store?.close();
            JwtManager.reset();
          });
          const call = (method: 'get' | 'post', path: string, token: string) => request(server)[method](`/d${path}`).set('Authorization', `Bearer ${token}`);
          /** A family whose first refresh token was rotated just now (inside the interval). */
          const usedFamily = async () => {
            const used = await createRefreshToken('alice');
            const rotated = await call('post', '/refresh', used);
            assert.equal(rotated.status, 200);
            return { used, pair: rotated.body as { accessToken: string; refreshToken: string } };
          };

          it('a retry of the rotation gets the same pair, which works (the allowed case)', async () => {
            const { used, pair } = await usedFamily();
            expectResponse(await call('post', '/refresh', used), 200, pair);
            expectResponse(await call('get', '/access', pair.accessToken), 200, { who: 'alice' });
          });

          for (const [method, path] of [['get', '/noop'], ['post', '/mint'], ['post', '/manager-mint'], ['post', '/new-refresh'], ['post', '/pair'], ['post', '/manager-pair'], ['post', '/rotate-then-mint']] as const) {
            it(`${method.toUpperCase()} ${path} with the used token: 401 reuse, the family revoked; with an unused one: 200`, async () => {
              const { used, pair } = await usedFamily();
              expectResponse(await call(method, path, used), 401, REVOKED);
              expectResponse(await call('get', '/access', pair.accessToken), 401, REVOKED);
              expectResponse(await call('post', '/refresh', pair.refreshToken), 401, REVOKED);
              const fresh = await call(method, path, await createRefreshToken('bob'));
              assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
            });
          }

          if (door !== 'decorators') {
            it('a handler that swallows the refused mint and sets a cookie still answers 401 reuse, without the cookie', async () => {
              const { used } = await usedFamily();
              const res = await call('get', '/swallow', used);
              expectResponse(res, 401, REVOKED);
              assert.equal(res.headers['set-cookie'], undefined);
            });
          }
        });
      }
    });
  }
}

describe('koa: a used refresh token inside the reuse interval yields only its pair, through every door', () => {
  let redis: StandaloneRedis | undefined;
  let admin: Redis | undefined;
  let stores: Stores[] = [{ name: 'memory', make: () => new MemoryTokenStore() }];
  before(async function () {
    requireRedis(this);
    redis = await startStandalone();
    admin = new Redis(redis.url);
    const url = redis.url;
    stores = [
      { name: 'memory', make: () => new MemoryTokenStore() },
      { name: 'redis', make: () => new RedisTokenStore({ redis: url, keyPrefix: 'used:' }) },
      { name: 'tiered', make: () => new TieredTokenStore({ redis: url, keyPrefix: 'used:' }) },
    ];
  });
  afterEach(async () => { if (admin) await flush(admin); });
  after(async () => {
    admin?.disconnect();
    await redis?.server?.stop();
  });

  defineDoors(() => stores);

  describe('verifyJwtInRequest() with no jwtContext() in front: it can neither mark nor wrap', () => {
    let server: Server;
    afterEach(() => { server?.close(); JwtManager.reset(); });
    for (const kind of ['memory', 'redis', 'tiered']) {
      it(`${kind}: the used token is refused as reuse up front (family revoked); an unused one rotates`, async function () {
        const made = stores.find((s) => s.name === kind);
        if (made === undefined) return this.skip();
        const store = made.make();
        JwtManager.configure({ secret: SECRET, revocation: { store, checks: 'all', refreshRotation: true, reuseIntervalSeconds: 30 } });
        const app = new Koa();
        app.silent = true;
        app.use(async (ctx, next) => {
          try { await next(); } catch (error) { ctx.status = (error as { status: number }).status; ctx.body = { msg: (error as Error).message }; }
        });
        app.use(async (ctx) => {
          const payload = await verifyJwtInRequest(ctx, { refresh: ctx.path !== '/access' });
          ctx.body = ctx.path === '/refresh' ? await rotateRefreshToken({ payload }) : { who: payload?.sub };
        });
        server = app.listen(0);
        const call = (path: string, token: string) => request(server).post(path).set('Authorization', `Bearer ${token}`);
        const used = await createRefreshToken('alice');
        const pair = (await call('/refresh', used)).body;
        expectResponse(await call('/access', pair.accessToken), 200, { who: 'alice' });
        expectResponse(await call('/refresh', used), 401, REVOKED);
        expectResponse(await call('/access', pair.accessToken), 401, REVOKED);
        await store.close();
      });
    }
  });
});

