/**
 * What an OPTIONS request meets on a guarded route, as docs/guards.md states it: a route
 * declared for one method never sees it (the router answers 200 with `Allow`, before any
 * guard); a route accepting every method reaches the guard, which answers 204 itself unless
 * a token passes. Either way no guarded handler runs anonymously.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { All, Get, JsonController, useKoaServer } from 'routing-controllers';
import { createAccessToken, JwtManager, JwtRequired, jwtRequired } from '../../src';
import { SECRET } from '../support/server';

let handled = 0;

@JsonController('/opt')
class OptionsController {
  @Get('/get')
  @JwtRequired()
  get() {
    handled += 1;
    return { handled: true };
  }

  @All('/all')
  @JwtRequired()
  all() {
    handled += 1;
    return { handled: true };
  }
}

describe('doors: OPTIONS on guarded routes', () => {
  let server: Server;
  beforeEach(() => {
    handled = 0;
    JwtManager.configure({ secret: SECRET });
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    const handler = (ctx: Koa.Context) => {
      handled += 1;
      ctx.body = { handled: true };
    };
    router.get('/r/get', jwtRequired(), handler);
    router.all('/r/all', jwtRequired(), handler);
    app.use(router.routes()).use(router.allowedMethods());
    useKoaServer(app, { controllers: [OptionsController] });
    server = app.listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  for (const path of ['/opt/get', '/r/get']) {
    it(`${path} (declared for GET): the router answers 200 with Allow, guard and handler never run`, async () => {
      const anonymous = await request(server).options(path);
      assert.deepEqual([anonymous.status, anonymous.headers.allow, handled], [200, 'HEAD, GET', 0]);
      const withToken = await request(server).options(path).set('Authorization', `Bearer ${await createAccessToken('alice')}`);
      assert.deepEqual([withToken.status, withToken.headers.allow, handled], [200, 'HEAD, GET', 0]);
    });
  }

  for (const path of ['/opt/all', '/r/all']) {
    it(`${path} (every method): the guard answers 204 anonymously; a passing token runs the handler`, async () => {
      const anonymous = await request(server).options(path);
      assert.deepEqual([anonymous.status, anonymous.text, handled], [204, '', 0]);
      const withToken = await request(server).options(path).set('Authorization', `Bearer ${await createAccessToken('alice')}`);
      assert.deepEqual([withToken.status, withToken.body, handled], [200, { handled: true }, 1]);
    });
  }
});
