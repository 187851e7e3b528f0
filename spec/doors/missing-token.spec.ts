/**
 * One refusal text for a missing token from every door (DESIGN 0.3 G): decorators,
 * `jwtRequired()`, `verifyJwtInRequest()`, routing-controllers' `@Authorized()` (also on a
 * `@JwtOptional()` route), and the testing kit's `withToken(undefined)`. With several
 * locations it names them all, as Flask-JWT-Extended does.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { Authorized, Get, JsonController, useKoaServer } from 'routing-controllers';
import {
  createAccessToken, getJwtIdentity, JwtError, jwtAuthorizationChecker, JwtManager, JwtOptional, JwtOptions, JwtRequired, jwtRequired,
  REFUSED_CHANNEL, verifyJwtInRequest,
} from '../../src';
import { JwtHttpError, withToken } from '../../src/testing';
import { SECRET } from '../support/server';

@JsonController('/missing')
class MissingController {
  @Get('/decorated')
  @JwtRequired()
  decorated() {
    return { who: getJwtIdentity() };
  }

  @Get('/authorized')
  @Authorized()
  authorized() {
    return { authorized: true };
  }

  @Get('/optional-authorized')
  @JwtOptional()
  @Authorized()
  optionalAuthorized() {
    return { authorized: true };
  }
}

function app(options: Partial<JwtOptions>): Server {
  JwtManager.configure({ secret: SECRET, ...options });
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
  router.get('/mw', jwtRequired(), (ctx) => {
    ctx.body = { who: getJwtIdentity() };
  });
  router.get('/verify', async (ctx) => {
    ctx.body = { who: (await verifyJwtInRequest(ctx))!.sub };
  });
  koa.use(router.routes());
  useKoaServer(koa, { controllers: [MissingController], authorizationChecker: jwtAuthorizationChecker });
  return koa.listen(0);
}

const DOORS = ['/missing/decorated', '/mw', '/verify', '/missing/authorized', '/missing/optional-authorized'];
const CASES: Array<[string, Partial<JwtOptions>, string]> = [
  ['headers only', {}, 'Missing Authorization Header'],
  ['headers and cookies', { tokenLocation: ['headers', 'cookies'] },
    'Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "access_token_cookie")'],
  ['cookies, query and headers', { tokenLocation: ['cookies', 'query', 'headers'] },
    'Missing JWT in cookies, query or headers (Missing cookie "access_token_cookie"; Missing \'jwt\' query paramater; Missing Authorization Header)'],
];

describe('doors: one missing-token refusal from every door', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });

  for (const [label, options, message] of CASES) {
    for (const path of DOORS) {
      it(`${label}, ${path}: 401 ${message}; a token passes`, async () => {
        server = app(options);
        const res = await request(server).get(path);
        assert.deepEqual([res.status, res.body], [401, { msg: message }]);
        const ok = await request(server).get(path).set('Authorization', `Bearer ${await createAccessToken('alice')}`);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
      });
    }

    it(`${label}, withToken(undefined): 401 ${message}`, async () => {
      server = app(options);
      await assert.rejects(withToken(undefined, () => new MissingController().decorated()), (error: JwtHttpError) => {
        assert.deepEqual([error.status, error.body], [401, { msg: message }]);
        return true;
      });
    });
  }

  it('@Authorized() publishes its refusal once on koa-jwt-extended:refused', async () => {
    server = app({});
    const seen: string[] = [];
    const listener = (message: unknown) => seen.push((message as { error: JwtError }).error.message);
    diagnostics.subscribe(REFUSED_CHANNEL, listener);
    try {
      await request(server).get('/missing/authorized').expect(401);
    } finally {
      diagnostics.unsubscribe(REFUSED_CHANNEL, listener);
    }
    assert.deepEqual(seen, ['Missing Authorization Header']);
  });
});
