import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createKoaServer, Get, JsonController, Post } from 'routing-controllers';
import {
  Claims, FreshJwtRequired, getJwtIdentity, Identity, JwtManager, JwtOptional, JwtRequired, MemoryTokenStore,
  RefreshRequired, TokenPayload,
} from '../../src';
import {
  authHeader, expiredAccessToken, fakeAccessToken, fakeRefreshToken, foreignAccessToken, JwtHttpError,
  revokedAccessToken, revokedRefreshToken, tamperToken, withToken,
} from '../../src/testing';

const SECRET = 'kit-spec-secret-of-at-least-32-bytes!!';

@JsonController('/kit')
class ProfileController {
  @Get('/me')
  @JwtRequired()
  async me(@Identity() username: string, @Claims() claims: TokenPayload) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return { username, viaContext: getJwtIdentity(), roles: claims.roles ?? null };
  }

  @Post('/password')
  @FreshJwtRequired()
  changePassword(@Identity() username: string) {
    return { changed: username };
  }

  @Post('/refresh')
  @RefreshRequired()
  refresh(@Identity() username: string) {
    return { refreshed: username };
  }

  @Get('/feed')
  @JwtOptional()
  feed(@Identity() username?: string) {
    return { feedFor: username ?? 'anonymous' };
  }
}

/** Asserts `promise` rejects with the HTTP answer `status` / `body`. */
async function refused(promise: Promise<unknown>, status: number, body: unknown): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof JwtHttpError, `expected a JwtHttpError, got ${String(error)}`);
    assert.equal(error.status, status);
    assert.deepEqual(error.body, body);
    return true;
  });
}

describe('testing kit: direct calls with withToken', () => {
  const controller = new ProfileController();
  beforeEach(() => JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), checks: 'all' } }));
  afterEach(() => JwtManager.reset());

  it('injects @Identity() and @Claims() and sets the request context', async () => {
    const token = await fakeAccessToken('alice', { claims: { roles: ['admin'] } });
    const result = await withToken(token, () => controller.me(undefined as never, undefined as never));
    assert.deepEqual(result, { username: 'alice', viaContext: 'alice', roles: ['admin'] });
  });

  it('a direct call with no token context rejects with 401 and the missing-header body', async () => {
    await refused(controller.me('mallory', {} as TokenPayload), 401, { msg: 'Missing Authorization Header' });
  });

  it('withToken(undefined) is a request without a token: 401', async () => {
    await refused(withToken(undefined, () => controller.me('x', {} as TokenPayload)), 401, { msg: 'Missing Authorization Header' });
  });

  it('an expired fake token is refused with the expired answer', async () => {
    const token = await expiredAccessToken('alice');
    await refused(withToken(token, () => controller.me('alice', {} as TokenPayload)), 401, { msg: 'Token has expired' });
  });

  it('a non-fresh token on a fresh method: 401 Fresh token required', async () => {
    const token = await fakeAccessToken('alice', { fresh: false });
    await refused(withToken(token, () => controller.changePassword('alice')), 401, { msg: 'Fresh token required' });
  });

  it('a fresh token passes a fresh method', async () => {
    const token = await fakeAccessToken('alice', { fresh: true });
    assert.deepEqual(await withToken(token, () => controller.changePassword('ignored')), { changed: 'alice' });
  });

  it('an access token on a refresh method: 422 Only refresh tokens are allowed', async () => {
    const token = await fakeAccessToken('alice');
    await refused(withToken(token, () => controller.refresh('alice')), 422, { msg: 'Only refresh tokens are allowed' });
  });

  it('a refresh token passes a refresh method and is refused by an access one', async () => {
    const token = await fakeRefreshToken('alice');
    assert.deepEqual(await withToken(token, () => controller.refresh('x')), { refreshed: 'alice' });
    await refused(withToken(token, () => controller.me('x', {} as TokenPayload)), 422, { msg: 'Only non-refresh tokens are allowed' });
  });

  it('a revoked token is refused through the store', async () => {
    await refused(withToken(await revokedAccessToken('alice'), () => controller.me('x', {} as TokenPayload)), 401, { msg: 'Token has been revoked' });
    await refused(withToken(await revokedRefreshToken('alice'), () => controller.refresh('x')), 401, { msg: 'Token has been revoked' });
  });

  it('a tampered token is refused: Signature verification failed', async () => {
    const token = tamperToken(await fakeAccessToken('alice'), { sub: 'admin' });
    await refused(withToken(token, () => controller.me('x', {} as TokenPayload)), 422, { msg: 'Signature verification failed' });
  });

  it('a token signed with another key is refused', async () => {
    await refused(withToken(foreignAccessToken('alice'), () => controller.me('x', {} as TokenPayload)), 422, { msg: 'Signature verification failed' });
  });

  it('@JwtOptional() runs anonymously without a token, and refuses a bad one', async () => {
    assert.deepEqual(await controller.feed('spoofed'), { feedFor: 'anonymous' });
    await refused(withToken(await expiredAccessToken('bob'), () => controller.feed()), 401, { msg: 'Token has expired' });
    assert.deepEqual(await withToken(await fakeAccessToken('bob'), () => controller.feed()), { feedFor: 'bob' });
  });

  it('the refusal body follows the configured loaders', async () => {
    JwtManager.instance.expiredTokenLoader = (payload) => ({ status: 419, body: { gone: payload.sub } });
    await refused(withToken(await expiredAccessToken('carol'), () => controller.me('x', {} as TokenPayload)), 419, { gone: 'carol' });
  });
});

describe('testing kit: HTTP tests with authHeader', () => {
  let server: Server;
  beforeEach(() => {
    JwtManager.configure({ secret: SECRET, headerName: 'X-Api-Token', headerType: 'Token' });
    server = createKoaServer({ controllers: [ProfileController] }).listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  it('authHeader follows headerName and headerType', async () => {
    const token = await fakeAccessToken('dave');
    assert.deepEqual(authHeader(token), { 'X-Api-Token': `Token ${token}` });
    const res = await request(server).get('/kit/me').set(authHeader(token));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { username: 'dave', viaContext: 'dave', roles: null });
  });

  it('the kit cannot make a real request pass: withToken does not authenticate HTTP', async () => {
    const token = await fakeAccessToken('dave');
    const res = await withToken(token, () => request(server).get('/kit/me'));
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Missing X-Api-Token Header' });
  });

  it('a fake token made under another key is refused over HTTP', async () => {
    const token = await fakeAccessToken('dave');
    JwtManager.configure({ secret: 'another-secret-of-at-least-32-bytes!!!', headerName: 'X-Api-Token', headerType: 'Token' });
    const res = await request(server).get('/kit/me').set(authHeader(token));
    assert.equal(res.status, 422);
    assert.deepEqual(res.body, { msg: 'Signature verification failed' });
  });
});
