/**
 * Flask-JWT-Extended 4's tests/test_additional_claims_loader.py, ported: each `it` names the fje
 * test it mirrors. The route answers the verified payload (fje's `jsonify(get_jwt())`).
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, decodeToken, getJwtClaims, JwtManager, JwtOptions, JwtRequired, JwtUsageError,
} from '../../src';
import { startServer } from '../koa/support';

@JsonController('/fje-claims')
class ClaimsController {
  @Get('/protected') @JwtRequired()
  protected() { return getJwtClaims(); }

  @Get('/refresh') @JwtRequired({ refresh: true })
  refresh() { return getJwtClaims(); }
}

/** fje's TestObject: a user object that is no identity by itself. */
class TestObject {
  constructor(readonly username: string) {}
}

describe('parity with fje 4: userClaimsLoader and userIdentityLoader', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });
  const start = (options: Partial<JwtOptions> = {}) => (server = startServer([ClaimsController], options));
  const get = (url: string, token: string) => request(server!).get(url).set('Authorization', `Bearer ${token}`);

  it('test_additional_claims_in_access_token', async () => {
    start({ userClaimsLoader: () => ({ foo: 'bar' }) });
    const res = await get('/fje-claims/protected', await createAccessToken('username'));
    assert.equal(res.status, 200);
    assert.equal(res.body.foo, 'bar');
  });

  it('test_non_serializable_claims: creation fails (JwtUsageError), nothing is issued', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    start({ userClaimsLoader: () => cyclic });
    await assert.rejects(createAccessToken('username'), (error: unknown) => error instanceof JwtUsageError && /JSON-serializable/.test(error.message));
  });

  it('test_token_from_complex_object: the identity from userIdentityLoader, the claims loader gets the object', async () => {
    const seen: unknown[] = [];
    start({
      userIdentityLoader: (user: TestObject) => user.username,
      userClaimsLoader: (user: TestObject) => {
        seen.push(user);
        return { username: user.username };
      },
    });
    const user = new TestObject('username');
    const token = await createAccessToken(user);
    assert.deepEqual(seen, [user]);
    assert.equal(seen[0], user); // the very object, not a copy or its identity
    const decoded = await decodeToken(token);
    assert.equal(decoded.sub, 'username');
    assert.equal(decoded.username, 'username');
    const res = await get('/fje-claims/protected', token);
    assert.equal(res.status, 200);
    assert.equal(res.body.username, 'username');
  });

  it('test_token_from_complex_object (refresh): createRefreshToken takes the object too', async () => {
    start({ userIdentityLoader: (user: TestObject) => user.username, userClaimsLoader: (user: TestObject) => ({ username: user.username }), claimsInRefreshTokens: true });
    const res = await get('/fje-claims/refresh', await createRefreshToken(new TestObject('username')));
    assert.equal(res.status, 200);
    assert.equal(res.body.sub, 'username');
    assert.equal(res.body.username, 'username');
  });

  it('without userIdentityLoader a user object is refused at creation, naming the option', async () => {
    start({ userClaimsLoader: () => ({}) });
    await assert.rejects(createAccessToken(new TestObject('username')), (error: unknown) => error instanceof JwtUsageError && /userIdentityLoader/.test(error.message));
  });

  it('a userIdentityLoader that answers no string is refused at creation', async () => {
    start({ userIdentityLoader: () => undefined as unknown as string });
    await assert.rejects(createAccessToken(new TestObject('username')), (error: unknown) => error instanceof JwtUsageError && /userIdentityLoader must return one/.test(error.message));
  });

  it('a string identity is written as is and reaches the claims loader as the string (the loader maps objects only)', async () => {
    const seen: unknown[] = [];
    start({ userIdentityLoader: (user: TestObject) => user.username, userClaimsLoader: (given: unknown) => (seen.push(given), {}) });
    assert.equal((await decodeToken(await createAccessToken('alice'))).sub, 'alice');
    assert.deepEqual(seen, ['alice']);
  });

  it('test_additional_claims_in_refresh_token: with claimsInRefreshTokens (fje 4 always puts them there)', async () => {
    start({ userClaimsLoader: () => ({ foo: 'bar' }), claimsInRefreshTokens: true });
    const res = await get('/fje-claims/refresh', await createRefreshToken('username'));
    assert.equal(res.status, 200);
    assert.equal(res.body.foo, 'bar');
  });

  it('test_additional_claims_in_refresh_token by default here: no loader claims in refresh tokens (deliberate)', async () => {
    start({ userClaimsLoader: () => ({ foo: 'bar' }) });
    const res = await get('/fje-claims/refresh', await createRefreshToken('username'));
    assert.equal(res.status, 200);
    assert.equal(res.body.foo, undefined);
  });

  it('test_additional_claims_in_refresh_token_specified_at_creation / _in_access_token_specified_at_creation', async () => {
    start();
    assert.equal((await get('/fje-claims/refresh', await createRefreshToken('username', { claims: { foo: 'bar' } }))).body.foo, 'bar');
    assert.equal((await get('/fje-claims/protected', await createAccessToken('username', { claims: { foo: 'bar' } }))).body.foo, 'bar');
  });

  it('test_addition_claims_merge and _tie_goes_to_create_access_token', async () => {
    start({ userClaimsLoader: () => ({ default: 'value' }) });
    const merged = (await get('/fje-claims/protected', await createAccessToken('username', { claims: { foo: 'bar' } }))).body;
    assert.deepEqual([merged.foo, merged.default], ['bar', 'value']);
    const tie = (await get('/fje-claims/protected', await createAccessToken('username', { claims: { default: 'foo' } }))).body;
    assert.equal(tie.default, 'foo');
  });
});
