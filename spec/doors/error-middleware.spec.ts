/**
 * The plain Koa guide's one-line error middleware (DESIGN 0.3 I): a `verifyJwtInRequest()`
 * refusal that escapes a handler answers with the status and JSON body `jwtRequired()`
 * writes; any other error stays a 500. The line is read from docs/plain-koa.md, so the
 * guide shows exactly what is tested.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { createAccessToken, createRefreshToken, JwtError, JwtManager, jwtRequired, verifyJwtInRequest } from '../../src';
import { SECRET } from '../support/server';

const GUIDE = readFileSync(join(__dirname, '..', '..', 'docs', 'plain-koa.md'), 'utf8');
const LINE = GUIDE.split('\n').find((line) => line.startsWith('app.use((ctx, next) => next().catch('));

/** An app with the guide's line (or without it), a verifyJwtInRequest route and a jwtRequired route. */
function serveApp(withLine: boolean): Server {
  const app = new Koa();
  app.silent = true;
  if (withLine) new Function('app', 'JwtError', LINE!)(app, JwtError);
  const router = new Router();
  router.get('/imperative', async (ctx) => {
    await verifyJwtInRequest(ctx);
    ctx.body = { hello: 'world' };
  });
  router.get('/middleware', jwtRequired(), (ctx) => {
    ctx.body = { hello: 'world' };
  });
  router.get('/broken', () => {
    throw new Error('a bug of the app');
  });
  return app.use(router.routes()).listen(0);
}

describe('doors: the plain Koa guide\'s error middleware', () => {
  let server: Server;
  beforeEach(() => JwtManager.configure({ secret: SECRET }));
  afterEach(() => {
    server?.close();
    JwtManager.reset();
  });

  it('is in the guide', () => {
    assert.ok(LINE, 'docs/plain-koa.md has no line starting with app.use((ctx, next) => next().catch(');
  });

  const cases: Array<[string, () => Promise<Record<string, string>>]> = [
    ['no token', async () => ({})],
    ['an expired token', async () => ({ Authorization: `Bearer ${await createAccessToken('alice', { expiresIn: -10 })}` })],
    ['a forged token', async () => ({ Authorization: 'Bearer a.b.c' })],
    ['a refresh token', async () => ({ Authorization: `Bearer ${await createRefreshToken('alice')}` })],
  ];
  for (const [name, headers] of cases) {
    it(`a refused verifyJwtInRequest (${name}) answers as jwtRequired() does`, async () => {
      server = serveApp(true);
      const sent = await headers();
      const imperative = await request(server).get('/imperative').set(sent);
      const middleware = await request(server).get('/middleware').set(sent);
      assert.match(imperative.headers['content-type'], /^application\/json/);
      assert.deepEqual([imperative.status, imperative.body], [middleware.status, middleware.body]);
      assert.ok(imperative.status >= 400 && imperative.status < 500, String(imperative.status));
    });
  }

  it('a valid token is allowed through both', async () => {
    server = serveApp(true);
    const token = await createAccessToken('alice');
    const res = await request(server).get('/imperative').set('Authorization', `Bearer ${token}`);
    assert.deepEqual([res.status, res.body], [200, { hello: 'world' }]);
  });

  it('any other error stays a 500 without its message', async () => {
    server = serveApp(true);
    const res = await request(server).get('/broken');
    assert.deepEqual([res.status, res.text], [500, 'Internal Server Error']);
  });

  it('without the line, Koa answers the refusal in plain text (what the line is for)', async () => {
    server = serveApp(false);
    const res = await request(server).get('/imperative');
    assert.equal(res.status, 401);
    assert.match(res.headers['content-type'], /^text\/plain/);
    assert.equal(res.text, 'Missing Authorization Header');
  });
});
