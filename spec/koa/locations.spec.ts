import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { All, Get, JsonController, Post } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, FreshJwtRequired, getJwtIdentity, Identity, JwtManager, JwtOptional, JwtOptions,
  JwtRequired, RefreshRequired,
} from '../../src';
import { startServer } from './support';

@JsonController('/loc')
class LocationsController {
  @Get('/default') @JwtRequired()
  byDefault(@Identity() who: string) { return { who }; }

  @Get('/cookies-first') @JwtRequired({ locations: ['cookies', 'headers'] })
  cookiesFirst(@Identity() who: string) { return { who }; }

  @Get('/headers-first') @JwtRequired({ locations: ['headers', 'cookies'] })
  headersFirst(@Identity() who: string) { return { who }; }

  @Get('/headers-only') @JwtRequired({ locations: 'headers' })
  headersOnly(@Identity() who: string) { return { who }; }

  @Get('/query') @JwtRequired({ locations: ['query'] })
  query(@Identity() who: string) { return { who }; }

  @Post('/json') @JwtRequired({ locations: ['json'] })
  json(@Identity() who: string) { return { who }; }

  @Post('/json-refresh') @RefreshRequired({ locations: ['json'] })
  jsonRefresh(@Identity() who: string) { return { refreshed: who }; }

  @Get('/fresh-query') @FreshJwtRequired({ locations: ['query'] })
  freshQuery(@Identity() who: string) { return { who }; }

  @Get('/optional') @JwtOptional()
  optional(@Identity() who?: string) { return { anonymous: who === undefined && getJwtIdentity() === undefined, who: who ?? null }; }

  @All('/any') @JwtRequired()
  any() { return { reached: true }; }
}

describe('koa: token locations', () => {
  let server: Server;

  function start(options: Partial<JwtOptions> = {}) {
    server = startServer([LocationsController], options);
  }
  afterEach(() => {
    server?.close();
    JwtManager.reset();
  });

  describe('the tokenLocation option', () => {
    it('defaults to headers: 401 Missing Authorization Header', async () => {
      start();
      const res = await request(server).get('/loc/default');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing Authorization Header' });
    });

    it('a single location: tokenLocation "query" reads ?jwt=', async () => {
      start({ tokenLocation: 'query' });
      const token = await createAccessToken('alice');
      const res = await request(server).get('/loc/default').query({ jwt: token });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it('a single cookie location: 401 Missing cookie "access_token_cookie"', async () => {
      start({ tokenLocation: ['cookies'] });
      const res = await request(server).get('/loc/default');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing cookie "access_token_cookie"' });
    });

    it('several locations: 401 Missing JWT in cookies or headers (...)', async () => {
      start({ tokenLocation: ['cookies', 'headers'] });
      const res = await request(server).get('/loc/default');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing JWT in cookies or headers (Missing cookie "access_token_cookie"; Missing Authorization Header)' });
    });

    it('all four locations are named in order', async () => {
      start({ tokenLocation: ['headers', 'cookies', 'query', 'json'] });
      const res = await request(server).get('/loc/default');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, {
        msg: 'Missing JWT in headers, cookies, query or json (Missing Authorization Header; Missing cookie "access_token_cookie"; '
          + "Missing 'jwt' query paramater; Invalid content-type. Must be application/json.)",
      });
    });

    it('a route\'s locations override the option', async () => {
      start({ tokenLocation: ['cookies'] });
      const token = await createAccessToken('alice');
      const res = await request(server).get('/loc/headers-only').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });
  });

  describe('precedence', () => {
    async function bothPresent(path: string) {
      const [alice, bob] = [await createAccessToken('alice'), await createAccessToken('bob')];
      return request(server).get(path).set('Cookie', `access_token_cookie=${alice}`).set('Authorization', `Bearer ${bob}`);
    }

    it('cookies before headers: the cookie identity wins', async () => {
      start();
      const res = await bothPresent('/loc/cookies-first');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it('headers before cookies: the header identity wins', async () => {
      start();
      const res = await bothPresent('/loc/headers-first');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'bob' });
    });

    it('a later location is used when the first has no token', async () => {
      start();
      const token = await createAccessToken('carol');
      const res = await request(server).get('/loc/cookies-first').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'carol' });
    });

    it('a header-only route ignores a valid token cookie: 401 Missing Authorization Header', async () => {
      start();
      const token = await createAccessToken('alice');
      const res = await request(server).get('/loc/headers-only').set('Cookie', `access_token_cookie=${token}`);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing Authorization Header' });
    });
  });

  describe('query string', () => {
    it('?jwt= authenticates', async () => {
      start();
      const res = await request(server).get('/loc/query').query({ jwt: await createAccessToken('alice') });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it('queryStringName renames the parameter', async () => {
      start({ queryStringName: 'token' });
      const res = await request(server).get('/loc/query').query({ token: await createAccessToken('alice') });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it("no parameter: 401 Missing 'jwt' query paramater (fje 4's text, sic)", async () => {
      start();
      const res = await request(server).get('/loc/query');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: "Missing 'jwt' query paramater" });
    });

    it('the parameter twice: 422, never a 500', async () => {
      start();
      const token = await createAccessToken('alice');
      const res = await request(server).get(`/loc/query?jwt=${token}&jwt=${token}`);
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Bad query string: "jwt" given more than once' });
    });

    it('a garbage token: 422 with a short reason', async () => {
      start();
      const res = await request(server).get('/loc/query').query({ jwt: 'not-a-token' });
      assert.equal(res.status, 422);
      assert.equal(typeof res.body.msg, 'string');
      assert.ok(!/\n\s+at /.test(res.body.msg), 'no stack trace');
    });

    it('a fresh-only route on the query: a non-fresh token gets 401 Fresh token required', async () => {
      start();
      const res = await request(server).get('/loc/fresh-query').query({ jwt: await createAccessToken('alice', { fresh: false }) });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Fresh token required' });
    });
  });

  describe('JSON body', () => {
    it('{"access_token": ...} authenticates', async () => {
      start();
      const res = await request(server).post('/loc/json').send({ access_token: await createAccessToken('alice') });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it('jsonKey renames the key', async () => {
      start({ jsonKey: 'token' });
      const res = await request(server).post('/loc/json').send({ token: await createAccessToken('alice') });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { who: 'alice' });
    });

    it('a refresh route reads "refresh_token"', async () => {
      start();
      const res = await request(server).post('/loc/json-refresh').send({ refresh_token: await createRefreshToken('alice') });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { refreshed: 'alice' });
    });

    it('a refresh route ignores "access_token": 401 Missing "refresh_token" key in json data.', async () => {
      start();
      const res = await request(server).post('/loc/json-refresh').send({ access_token: await createRefreshToken('alice') });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing "refresh_token" key in json data.' });
    });

    it('a non-JSON content type: 401 Invalid content-type. Must be application/json.', async () => {
      start();
      const token = await createAccessToken('alice');
      const res = await request(server).post('/loc/json').set('Content-Type', 'text/plain').send(`{"access_token":"${token}"}`);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Invalid content-type. Must be application/json.' });
    });

    it('the key missing: 401 Missing "access_token" key in json data.', async () => {
      start();
      const res = await request(server).post('/loc/json').send({ other: 'x' });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing "access_token" key in json data.' });
    });

    it('a non-string value: 422', async () => {
      start();
      const res = await request(server).post('/loc/json').send({ access_token: { nested: true } });
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Invalid "access_token" in json data: must be a string' });
    });

    it('a JSON array body: 401 Missing "access_token" key in json data.', async () => {
      start();
      const res = await request(server).post('/loc/json').send([1, 2]);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing "access_token" key in json data.' });
    });
  });

  describe('@JwtOptional()', () => {
    it('no token: the route runs anonymously', async () => {
      start();
      const res = await request(server).get('/loc/optional');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { anonymous: true, who: null });
    });

    it('a valid token: the route sees its identity', async () => {
      start();
      const res = await request(server).get('/loc/optional').set('Authorization', `Bearer ${await createAccessToken('alice')}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { anonymous: false, who: 'alice' });
    });

    it('an invalid token is still refused: 422 Signature verification failed', async () => {
      start();
      const token = await createAccessToken('alice');
      const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(43)}`;
      const res = await request(server).get('/loc/optional').set('Authorization', `Bearer ${forged}`);
      assert.equal(res.status, 422);
      assert.deepEqual(res.body, { msg: 'Signature verification failed' });
    });

    it('an expired token is still refused: 401 Token has expired', async () => {
      start();
      const res = await request(server).get('/loc/optional').set('Authorization', `Bearer ${await createAccessToken('alice', { expiresIn: -10 })}`);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Token has expired' });
    });
  });

  describe('OPTIONS', () => {
    it('never runs a guarded handler anonymously: without a token the guard answers 204 itself', async () => {
      start();
      const res = await request(server).options('/loc/any');
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
    });

    it('runs the handler for OPTIONS when a valid token passes the guard', async () => {
      start();
      const res = await request(server).options('/loc/any').set('Authorization', `Bearer ${await createAccessToken('alice')}`);
      assert.deepEqual([res.status, res.body], [200, { reached: true }]);
    });

    it('the same route refuses GET without a token: 401 Missing Authorization Header', async () => {
      start();
      const res = await request(server).get('/loc/any');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { msg: 'Missing Authorization Header' });
    });
  });
});
