/**
 * CSRF follows the request's method (DESIGN 0.3 G, THREATS "declared vs actual"): every
 * door × every HTTP method × cookie token (with and without its CSRF header) and header
 * token. A cookie token needs the header exactly when the request's method is in
 * `csrfMethods`; a guarded method called from a handler keeps 0.2's rule (its own routes decide).
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { All, Get, JsonController, Post, useKoaServer } from 'routing-controllers';
import {
  createAccessToken, decodeToken, getJwtIdentity, JwtManager, JwtOptions, jwtContext, JwtRequired, jwtRequired, verifyJwtInRequest,
} from '../../src';
import type { JwtHttpError } from '../../src/testing';
import { SECRET } from './support';

@JsonController('/doors')
class CsrfDoorsController {
  @All('/all')
  @JwtRequired()
  all() {
    return { who: getJwtIdentity() };
  }

  @Get('/stacked')
  @Post('/stacked')
  @JwtRequired()
  stacked() {
    return { who: getJwtIdentity() };
  }

  /** A GET route calling the @All method directly: 0.2's rule, @All serves POST, so a cookie token needs CSRF. */
  @Get('/calls-all')
  @JwtRequired()
  async callsAll() {
    try {
      return await this.all();
    } catch (error) {
      return { refused: (error as JwtHttpError).status, body: (error as JwtHttpError).body };
    }
  }

  /** A POST route calling the GET-only method directly... */
  @Post('/calls-get')
  @JwtRequired()
  async callsGet() {
    return this.readOnly();
  }

  @Get('/read-only')
  @JwtRequired()
  readOnly() {
    return { who: getJwtIdentity() };
  }
}

function app(options: Partial<JwtOptions> = {}): Server {
  JwtManager.configure({ secret: SECRET, tokenLocation: ['headers', 'cookies'], ...options });
  const koa = new Koa();
  koa.silent = true;
  koa.use(jwtContext());
  koa.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500;
      ctx.status = status;
      ctx.body = { msg: (error as Error).message };
    }
  });
  const router = new Router();
  router.all('/router-all', jwtRequired(), (ctx) => {
    ctx.body = { who: getJwtIdentity() };
  });
  router.all('/verify', async (ctx) => {
    await verifyJwtInRequest(ctx);
    ctx.body = { who: getJwtIdentity() };
  });
  koa.use(router.routes());
  useKoaServer(koa, { controllers: [CsrfDoorsController] });
  return koa.listen(0);
}

const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const CSRF_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DOORS: Record<string, { path: string; methods: readonly string[] }> = {
  '@All()': { path: '/doors/all', methods: METHODS },
  'stacked @Get() @Post()': { path: '/doors/stacked', methods: ['GET', 'HEAD', 'POST'] },
  "router.all(..., jwtRequired())": { path: '/router-all', methods: METHODS },
  'verifyJwtInRequest() in router.all()': { path: '/verify', methods: METHODS },
};

type Credential = 'cookie, no CSRF header' | 'cookie + CSRF header' | 'header token';
const CREDENTIALS: Credential[] = ['cookie, no CSRF header', 'cookie + CSRF header', 'header token'];

describe('koa: CSRF follows the request\'s method, through every door', () => {
  let server: Server | undefined;
  let token: string;
  let csrf: string;
  before(async () => {
    JwtManager.configure({ secret: SECRET, tokenLocation: ['headers', 'cookies'] });
    token = await createAccessToken('alice');
    csrf = (await decodeToken(token)).csrf as string;
    JwtManager.reset();
  });
  beforeEach(() => {
    server = app();
  });
  afterEach(() => {
    server?.close();
    JwtManager.reset();
  });

  function send(method: string, path: string, credential: Credential) {
    const req = request(server!)[method.toLowerCase() as 'get'](path);
    if (credential === 'header token') return req.set('Authorization', `Bearer ${token}`);
    req.set('Cookie', `access_token_cookie=${token}`);
    return credential === 'cookie + CSRF header' ? req.set('X-CSRF-TOKEN', csrf) : req;
  }

  for (const [door, { path, methods }] of Object.entries(DOORS)) {
    for (const method of methods) {
      for (const credential of CREDENTIALS) {
        const refused = credential === 'cookie, no CSRF header' && CSRF_METHODS.has(method);
        it(`${door}, ${method}, ${credential}: ${refused ? '401 Missing CSRF token' : '200'}`, async () => {
          const res = await send(method, path, credential);
          if (refused) return assert.deepEqual([res.status, res.body], [401, { msg: 'Missing CSRF token' }]);
          assert.equal(res.status, 200, JSON.stringify(res.body));
          if (method !== 'HEAD') assert.deepEqual(res.body, { who: 'alice' });
        });
      }
    }
  }

  it('csrfMethods decides, for every door: with [\'GET\'] a cookie GET needs the header, a cookie POST does not', async () => {
    server?.close();
    server = app({ csrfMethods: ['GET'] });
    for (const { path } of Object.values(DOORS)) {
      const get = await send('GET', path, 'cookie, no CSRF header');
      assert.deepEqual([get.status, get.body], [401, { msg: 'Missing CSRF token' }], path);
      const post = await send('POST', path, 'cookie, no CSRF header');
      assert.deepEqual([post.status, post.body], [200, { who: 'alice' }], path);
    }
  });

  describe('a guarded method called from a handler keeps 0.2\'s rule: its own routes decide', () => {
    it('a GET handler calling the @All() method with a cookie token and no CSRF header: refused 401 Missing CSRF token', async () => {
      const res = await send('GET', '/doors/calls-all', 'cookie, no CSRF header');
      assert.deepEqual([res.status, res.body], [200, { refused: 401, body: { msg: 'Missing CSRF token' } }]);
    });

    it('the same call with the CSRF header, or a header token: runs', async () => {
      for (const credential of ['cookie + CSRF header', 'header token'] as const) {
        const res = await send('GET', '/doors/calls-all', credential);
        assert.deepEqual([res.status, res.body], [200, { who: 'alice' }], credential);
      }
    });

    it('a POST handler (CSRF checked) calling a GET-only method: runs', async () => {
      const res = await send('POST', '/doors/calls-get', 'cookie + CSRF header');
      assert.deepEqual([res.status, res.body], [200, { who: 'alice' }]);
    });
  });
});
