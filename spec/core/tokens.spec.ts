import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import type { Context } from 'koa';
import { Ctx, Get, JsonController, State } from 'routing-controllers';
import {
  Claims, createAccessToken, createRefreshToken, decodeToken, ExpiredTokenError, getJwtClaims, getJwtIdentity, Identity,
  InvalidTokenError, JwtManager, JwtRequired, JwtUsageError,
} from '../../src';
import type { JwtOptions } from '../../src';
import { expectResponse } from '../support/assert-response';
import { forge, forgeRaw, HS256_HEADER, nowSeconds, payload } from '../support/forge';
import { SECRET, serve, stop } from '../support/server';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function decodeUnverified(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

/** A service a route calls: reads the request's token after awaits and timers. */
async function deepService(): Promise<{ identity: string | undefined; role: unknown }> {
  await sleep(5);
  await Promise.resolve();
  return new Promise((resolve) => setTimeout(() => resolve({ identity: getJwtIdentity(), role: getJwtClaims().role }), 5));
}

@JsonController('/t')
class TokensController {
  @Get('/deep')
  @JwtRequired()
  async deep() {
    return deepService();
  }

  @Get('/ctx')
  @JwtRequired()
  fromCtx(@Ctx() ctx: Context) {
    return { sub: (ctx.state.jwt as { sub: string }).sub, type: (ctx.state.jwt as { type: string }).type };
  }

  @Get('/state')
  @JwtRequired()
  fromState(@State('jwt') jwt: Record<string, unknown>, @Identity() who: string) {
    return { jwt, who };
  }

  @Get('/claims')
  @JwtRequired()
  claims(@Claims() claims: Record<string, unknown>) {
    return { claims, polluted: ({} as Record<string, unknown>).polluted ?? null };
  }
}

/** Token creation and decoding through the public functions. */
describe('core: tokens', () => {
  const configure = (options: Partial<JwtOptions> = {}) => JwtManager.configure({ secret: SECRET, ...options });
  afterEach(() => JwtManager.reset());

  describe('payload shape', () => {
    beforeEach(() => configure());

    it('an access token: { sub, type, fresh, jti, iat, nbf, exp } with a 15 minute default lifetime', async () => {
      const before = nowSeconds();
      const body = decodeUnverified(await createAccessToken('alice', { fresh: true }));
      assert.deepEqual(Object.keys(body).sort(), ['exp', 'fresh', 'iat', 'jti', 'nbf', 'sub', 'type']);
      assert.equal(body.sub, 'alice');
      assert.equal(body.type, 'access');
      assert.equal(body.fresh, true);
      assert.match(body.jti as string, UUID);
      assert.ok((body.iat as number) >= before && (body.iat as number) <= nowSeconds());
      assert.equal(body.nbf, body.iat);
      assert.equal(body.exp, (body.iat as number) + 900);
    });

    it('fresh defaults to false', async () => {
      assert.equal(decodeUnverified(await createAccessToken('alice')).fresh, false);
    });

    it('a refresh token has no fresh claim and a 30 day default lifetime', async () => {
      const body = decodeUnverified(await createRefreshToken('alice'));
      assert.deepEqual(Object.keys(body).sort(), ['exp', 'iat', 'jti', 'nbf', 'sub', 'type']);
      assert.equal(body.type, 'refresh');
      assert.equal(body.exp, (body.iat as number) + 30 * 86400);
    });

    it('every token gets its own jti', async () => {
      const a = decodeUnverified(await createAccessToken('alice'));
      const b = decodeUnverified(await createAccessToken('alice'));
      assert.notEqual(a.jti, b.jti);
    });

    it('the header is { alg: HS256, typ: JWT }', async () => {
      const header = JSON.parse(Buffer.from((await createAccessToken('alice')).split('.')[0], 'base64url').toString());
      assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });
    });
  });

  describe('expiresIn', () => {
    beforeEach(() => configure());

    it('seconds', async () => {
      const body = decodeUnverified(await createAccessToken('alice', { expiresIn: 60 }));
      assert.equal(body.exp, (body.iat as number) + 60);
    });

    it("'1h'", async () => {
      const body = decodeUnverified(await createRefreshToken('alice', { expiresIn: '1h' }));
      assert.equal(body.exp, (body.iat as number) + 3600);
    });

    it('negative: an already expired token, refused by decodeToken as expired', async () => {
      const token = await createAccessToken('alice', { expiresIn: -10 });
      await assert.rejects(decodeToken(token), ExpiredTokenError);
    });

    it('a unitless string is refused', async () => {
      await assert.rejects(createAccessToken('alice', { expiresIn: '60' }), JwtUsageError);
    });

    it('false when the token kind is configured to expire: an error', async () => {
      await assert.rejects(createAccessToken('alice', { expiresIn: false }), (error: unknown) => error instanceof JwtUsageError && /expiresIn/.test(error.message));
    });

    it('false when configured never to expire: a token without exp that decodes', async () => {
      configure({ accessTokenExpires: false });
      const token = await createAccessToken('alice', { expiresIn: false });
      const body = await decodeToken(token);
      assert.equal(body.exp, undefined);
      assert.equal(body.sub, 'alice');
    });

    it('with access tokens never expiring, a refresh token without exp is still refused', async () => {
      configure({ accessTokenExpires: false });
      await assert.rejects(decodeToken(forge(HS256_HEADER, payload({ type: 'refresh', fresh: undefined, exp: undefined }))), (e: unknown) => e instanceof InvalidTokenError && e.message === 'Missing claim: exp');
    });

    it('with access tokens never expiring, an access token without exp is accepted', async () => {
      configure({ accessTokenExpires: false });
      assert.equal((await decodeToken(forge(HS256_HEADER, payload({ exp: undefined })))).sub, 'alice');
    });

    it('a never-expiring configuration still honours an explicit expiresIn', async () => {
      configure({ accessTokenExpires: false });
      const body = await decodeToken(await createAccessToken('alice', { expiresIn: 30 }));
      assert.equal(body.exp, (body.iat as number) + 30);
    });
  });

  describe('decodeToken', () => {
    beforeEach(() => configure());

    it('returns the verified payload', async () => {
      const token = await createAccessToken('alice', { claims: { role: 'admin' } });
      assert.deepEqual(await decodeToken(token), decodeUnverified(token));
    });

    it('an expired token: ExpiredTokenError', async () => {
      await assert.rejects(decodeToken(await createAccessToken('alice', { expiresIn: -1 })), ExpiredTokenError);
    });

    it('an expired token with allowExpired: the payload', async () => {
      const token = await createAccessToken('alice', { expiresIn: -1 });
      assert.equal((await decodeToken(token, { allowExpired: true })).sub, 'alice');
    });

    it('allowExpired does not excuse a bad signature', async () => {
      const forged = forge(HS256_HEADER, payload({ exp: nowSeconds() - 10 }), { secret: 'another-secret-of-at-least-32-bytes-long' });
      await assert.rejects(decodeToken(forged, { allowExpired: true }), (e: unknown) => e instanceof InvalidTokenError && e.message === 'Signature verification failed');
    });

    it('a forged unsigned token: InvalidTokenError', async () => {
      await assert.rejects(decodeToken('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.'), InvalidTokenError);
    });
  });

  describe('custom claims', () => {
    it('claims sit at the top level', async () => {
      configure();
      const body = await decodeToken(await createAccessToken('alice', { claims: { role: 'admin', tags: ['a'] } }));
      assert.equal(body.role, 'admin');
      assert.deepEqual(body.tags, ['a']);
    });

    it('userClaimsLoader(identity) adds claims at the top level of access tokens', async () => {
      const seen: string[] = [];
      configure({ userClaimsLoader: (identity) => { seen.push(identity); return { hello: identity, foo: ['bar', 'baz'] }; } });
      const body = await decodeToken(await createAccessToken('alice'));
      assert.equal(body.hello, 'alice');
      assert.deepEqual(body.foo, ['bar', 'baz']);
      assert.deepEqual(seen, ['alice']);
    });

    it('an async userClaimsLoader is awaited', async () => {
      configure({ userClaimsLoader: async (identity) => ({ async: identity }) });
      assert.equal((await decodeToken(await createAccessToken('bob'))).async, 'bob');
    });

    for (const claim of ['sub', 'exp', 'type', 'jti', 'iat', 'nbf', 'fresh']) {
      it(`the reserved claim '${claim}' is refused with a clear error`, async () => {
        configure();
        await assert.rejects(
          createAccessToken('alice', { claims: { [claim]: 'x' } }),
          (error: unknown) => error instanceof JwtUsageError && error.message.includes(`'${claim}'`) && /reserved/.test(error.message),
        );
      });
    }

    it('a reserved claim from userClaimsLoader is refused', async () => {
      configure({ userClaimsLoader: () => ({ sub: 'root' }) });
      await assert.rejects(createAccessToken('alice'), (error: unknown) => error instanceof JwtUsageError && /'sub'/.test(error.message));
    });

    it('an own __proto__ claim (from JSON) is refused', async () => {
      configure();
      await assert.rejects(createAccessToken('alice', { claims: JSON.parse('{"__proto__":{"polluted":true}}') }), JwtUsageError);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });

  describe('identity', () => {
    it("identityClaim 'identity' carries the identity in that claim", async () => {
      configure({ identityClaim: 'identity' });
      const body = await decodeToken(await createAccessToken('alice'));
      assert.equal(body.identity, 'alice');
      assert.equal(body.sub, undefined);
    });

    it("identityClaim 'identity': a token with only sub is refused (Missing claim: identity)", async () => {
      configure({ identityClaim: 'identity' });
      await assert.rejects(decodeToken(forge(HS256_HEADER, payload())), (e: unknown) => e instanceof InvalidTokenError && e.message === 'Missing claim: identity');
    });

    it('a non-string identity without userIdentityLoader is refused', async () => {
      configure();
      await assert.rejects(createAccessToken({ id: 7 }), (error: unknown) => error instanceof JwtUsageError && /userIdentityLoader/.test(error.message));
    });

    it('an empty identity is refused', async () => {
      configure();
      await assert.rejects(createAccessToken(''), JwtUsageError);
    });

    it('a user object is mapped by userIdentityLoader', async () => {
      configure({ userIdentityLoader: (user) => (user as { name: string }).name });
      const body = await decodeToken(await createRefreshToken({ name: 'carol' }));
      assert.equal(body.sub, 'carol');
    });

    it('userIdentityLoader returning a non-string is refused', async () => {
      configure({ userIdentityLoader: () => 42 as never });
      await assert.rejects(createAccessToken({ name: 'x' }), JwtUsageError);
    });
  });

  describe('outside a request', () => {
    beforeEach(() => configure());

    it('getJwtIdentity() throws a clear error', () => {
      assert.throws(() => getJwtIdentity(), (error: unknown) => error instanceof JwtUsageError && /outside a protected request/.test(error.message));
    });

    it('getJwtClaims() throws a clear error', () => {
      assert.throws(() => getJwtClaims(), (error: unknown) => error instanceof JwtUsageError && /outside a protected request/.test(error.message));
    });
  });

  describe('inside a protected request', () => {
    let server: Server;
    beforeEach(() => { server = serve([TokensController]); });
    afterEach(() => stop(server));

    it('getJwtIdentity()/getJwtClaims() work after awaits and setTimeout', async () => {
      const token = await createAccessToken('alice', { claims: { role: 'editor' } });
      const res = await request(server).get('/t/deep').set('Authorization', `Bearer ${token}`);
      expectResponse(res, 200, { identity: 'alice', role: 'editor' });
    });

    it('concurrent requests each see their own identity', async () => {
      const names = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'];
      const tokens = await Promise.all(names.map((n) => createAccessToken(n, { claims: { role: `r-${n}` } })));
      const responses = await Promise.all(tokens.map((t) => request(server).get('/t/deep').set('Authorization', `Bearer ${t}`)));
      responses.forEach((res, i) => expectResponse(res, 200, { identity: names[i], role: `r-${names[i]}` }));
    });

    it('ctx.state.jwt holds the payload (@Ctx())', async () => {
      const res = await request(server).get('/t/ctx').set('Authorization', `Bearer ${await createAccessToken('alice')}`);
      expectResponse(res, 200, { sub: 'alice', type: 'access' });
    });

    it("ctx.state.jwt holds the payload (@State('jwt'))", async () => {
      const token = await createAccessToken('alice');
      const res = await request(server).get('/t/state').set('Authorization', `Bearer ${token}`);
      expectResponse(res, 200, { jwt: decodeUnverified(token), who: 'alice' });
    });

    it('a forged __proto__ claim pollutes nothing and the route answers sanely', async () => {
      const text = JSON.stringify(payload()).replace(/\}$/, ',"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}');
      const res = await request(server).get('/t/claims').set('Authorization', `Bearer ${forgeRaw(JSON.stringify(HS256_HEADER), text)}`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.polluted, null);
      assert.equal(res.body.claims.sub, 'alice');
    });
  });
});
