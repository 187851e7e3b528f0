import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Server } from 'node:http';
import Koa from 'koa';
import request from 'supertest';
import { IsString } from 'class-validator';
import { All, Authorized, Body, createExecutor, Get, JsonController, KoaDriver, Post, UseBefore } from 'routing-controllers';
import { Identity, JwtManager, JwtRequired, NoAuthorizationError } from '../../src';
import { authHeader, fakeAccessToken } from '../../src/testing';

// routing-controllers' own @koa/router (13), handed to the driver so the test can read the routes' layers
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Router = require('@koa/router') as new () => { stack: Array<{ path: string; methods: string[]; stack: Function[] }> };

const SECRET = 'fused-route-spec-secret-of-32-bytes!!';
const ran: string[] = [];

class NewNote {
  @IsString()
  text!: string;
}

@JsonController('/fused')
class FusedController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() identity: string) {
    ran.push('me');
    return { identity };
  }

  @Post('/notes')
  @JwtRequired()
  add(@Identity() identity: string, @Body() note: NewNote) {
    ran.push('add');
    return { identity, text: note.text };
  }

  @All('/any')
  @JwtRequired()
  any(@Identity() identity: string) {
    ran.push('any');
    return { identity };
  }

  @Get('/open')
  open() {
    ran.push('open');
    return { open: true };
  }

  @Get('/with-middleware')
  @JwtRequired()
  @UseBefore((ctx: Koa.Context, next: Koa.Next) => {
    ran.push('own middleware');
    return next();
  })
  withMiddleware(@Identity() identity: string) {
    ran.push('withMiddleware');
    return { identity };
  }

  @Get('/sync-throw')
  @JwtRequired()
  @UseBefore((ctx: Koa.Context, next: Koa.Next) => {
    if (!ctx.get('x-session')) throw new NoAuthorizationError('Missing session');
    return next();
  })
  syncThrow() {
    ran.push('syncThrow');
    return { ok: true };
  }

  @Get('/no-promise')
  @JwtRequired()
  @UseBefore((ctx: Koa.Context, next: Koa.Next) => {
    void next();
    return true as never;
  })
  noPromise() {
    ran.push('noPromise');
    return { ok: true };
  }

  @Get('/authorized')
  @JwtRequired()
  @Authorized()
  authorized(@Identity() identity: string) {
    ran.push('authorized');
    return { identity };
  }
}

@JsonController('/fused-sub')
class FusedSubController extends FusedController {}

@JsonController('/fused-class-mw')
@UseBefore((ctx: Koa.Context, next: Koa.Next) => {
  ran.push('class middleware');
  return next();
})
class ClassMiddlewareController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() identity: string) {
    ran.push('class me');
    return { identity };
  }
}

describe("a route's guard in the route handler's layer (one @koa/router layer fewer)", () => {
  let server: Server;
  let router: InstanceType<typeof Router>;
  const layerOf = (method: string, path: string) => {
    const layer = router.stack.find((l) => l.path === path && l.methods.includes(method));
    assert.ok(layer, `${method} ${path} is registered`);
    return layer.stack;
  };

  before(() => {
    JwtManager.configure({ secret: SECRET });
    const app = new Koa();
    app.silent = true;
    router = new Router();
    createExecutor(new KoaDriver(app, router as never), {
      controllers: [FusedController, FusedSubController, ClassMiddlewareController],
      authorizationChecker: () => {
        ran.push('authorizationChecker');
        return true;
      },
    });
    server = app.listen(0);
  });
  after(() => {
    server.close();
    JwtManager.reset();
  });
  beforeEach(() => {
    ran.length = 0;
  });

  it('a guarded route with no middleware of its own is two functions: the once-only check and the guarded handler', () => {
    assert.equal(layerOf('GET', '/fused/me').length, 2);
    assert.equal(layerOf('GET', '/fused-sub/me').length, 2);
    // the open route of an app with guards: its request context fused the same way
    assert.equal(layerOf('GET', '/fused/open').length, 2);
  });

  it('the fused guard refuses a request without a token: 401, the handler never runs', async () => {
    const res = await request(server).get('/fused/me');
    assert.deepEqual([res.status, res.body], [401, { msg: 'Missing Authorization Header' }]);
    assert.deepEqual(ran, []);
  });

  it('the fused guard passes a good token: 200 with the identity', async () => {
    const res = await request(server).get('/fused/me').set(authHeader(await fakeAccessToken('alice')));
    assert.deepEqual([res.status, res.body], [200, { identity: 'alice' }]);
    assert.deepEqual(ran, ['me']);
  });

  it('an inherited route is fused and guarded: a malformed token 422, a good one 200', async () => {
    const refused = await request(server).get('/fused-sub/me').set('Authorization', 'Bearer not.a.token');
    assert.equal(refused.status, 422);
    assert.deepEqual(ran, []);
    const ok = await request(server).get('/fused-sub/me').set(authHeader(await fakeAccessToken('bob')));
    assert.deepEqual([ok.status, ok.body], [200, { identity: 'bob' }]);
  });

  it('OPTIONS without a token on a route that serves it is answered 204 by the fused guard, the handler never runs', async () => {
    assert.equal(layerOf('OPTIONS', '/fused/any').length, 2);
    const res = await request(server).options('/fused/any');
    assert.equal(res.status, 204);
    assert.deepEqual(ran, []);
    const ok = await request(server).options('/fused/any').set(authHeader(await fakeAccessToken('alice')));
    assert.deepEqual([ok.status, ok.body], [200, { identity: 'alice' }]);
    assert.deepEqual(ran, ['any']);
  });

  it('a body that fails validation is not looked at before the token: 401 without one, 400 with one', async () => {
    const refused = await request(server).post('/fused/notes').send({ text: 42 });
    assert.deepEqual([refused.status, refused.body], [401, { msg: 'Missing Authorization Header' }]);
    const token = await fakeAccessToken('alice');
    const invalid = await request(server).post('/fused/notes').set(authHeader(token)).send({ text: 42 });
    assert.equal(invalid.status, 400);
    const ok = await request(server).post('/fused/notes').set(authHeader(token)).send({ text: 'hi' });
    assert.deepEqual([ok.status, ok.body], [200, { identity: 'alice', text: 'hi' }]);
    assert.deepEqual(ran, ['add']);
  });

  it("a method's own @UseBefore runs after the guard, fused with it: refused before that middleware runs", async () => {
    assert.equal(layerOf('GET', '/fused/with-middleware').length, 3);
    const refused = await request(server).get('/fused/with-middleware');
    assert.equal(refused.status, 401);
    assert.deepEqual(ran, []);
    const ok = await request(server).get('/fused/with-middleware').set(authHeader(await fakeAccessToken('alice')));
    assert.deepEqual([ok.status, ok.body], [200, { identity: 'alice' }]);
    assert.deepEqual(ran, ['own middleware', 'withMiddleware']);
  });

  it("@Authorized(): the guard runs before routing-controllers' authorization checker, fused with it", async () => {
    assert.equal(layerOf('GET', '/fused/authorized').length, 3);
    const refused = await request(server).get('/fused/authorized');
    assert.equal(refused.status, 401);
    assert.deepEqual(ran, []);
    const ok = await request(server).get('/fused/authorized').set(authHeader(await fakeAccessToken('alice')));
    assert.equal(ok.status, 200);
    assert.deepEqual(ran, ['authorizationChecker', 'authorized']);
  });

  it("a controller's @UseBefore runs first, as it did before the guard was fused; the guard still refuses", async () => {
    assert.equal(layerOf('GET', '/fused-class-mw/me').length, 3);
    const refused = await request(server).get('/fused-class-mw/me');
    assert.equal(refused.status, 401);
    assert.deepEqual(ran, ['class middleware']);
    ran.length = 0;
    const ok = await request(server).get('/fused-class-mw/me').set(authHeader(await fakeAccessToken('carol')));
    assert.deepEqual([ok.status, ok.body], [200, { identity: 'carol' }]);
    assert.deepEqual(ran, ['class middleware', 'class me']);
  });

  // outside attack helper-45: fusing inside registerAction put a driver wrapper installed before the library in front of the guard
  it("code that wraps the driver's registerAction before the library loads still runs after the guard (own process)", () => {
    const app = path.join(__dirname, '..', 'support', 'driver-wrapper-app.ts');
    const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', app], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, result.stderr);
    // alice fills the wrapper's cache; no token and a malformed one are refused before it (or its middleware) runs
    assert.deepEqual(JSON.parse(result.stdout), { statuses: [200, 401, 422], seen: ['audit alice', 'handler alice'] });
  });

  // outside attack helper-46: koa-compose's next() is always a promise; the fused one returned what the successor did
  it('a JwtError a fused @UseBefore throws synchronously is answered through the loaders, with the challenge', async () => {
    const res = await request(server).get('/fused/sync-throw').set(authHeader(await fakeAccessToken('alice')));
    assert.deepEqual([res.status, res.body, res.headers['www-authenticate']], [401, { msg: 'Missing session' }, 'Bearer']);
    assert.deepEqual(ran, []);
  });

  it('a fused successor that returns no promise still answers 200', async () => {
    const res = await request(server).get('/fused/no-promise').set(authHeader(await fakeAccessToken('alice')));
    assert.deepEqual([res.status, res.body], [200, { ok: true }]);
    assert.deepEqual(ran, ['noPromise']);
  });
});
