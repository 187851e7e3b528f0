/**
 * Flask-JWT-Extended 4's tests/test_decode_tokens.py and the audience/issuer/sub cases of
 * tests/test_view_decorators.py, ported: each `it` names the fje test it mirrors. Tokens are
 * signed by hand (fje's `encode_token(app, data)`), then decoded directly and over HTTP.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import { Claims, createAccessToken, decodeToken, JwtManager, JwtOptions, JwtPayload, JwtRequired } from '../../src';
import { expectResponse } from '../support/assert-response';
import { forge, HS256_HEADER, nowSeconds } from '../support/forge';
import { startServer } from '../koa/support';
import { SECRET } from '../support/server';

@JsonController('/fje-decode')
class DecodeController {
  @Get('/protected') @JwtRequired()
  protected(@Claims() claims: JwtPayload) { return { type: claims.type, fresh: claims.fresh, jti: claims.jti ?? null }; }
}

/** fje's default_access_token fixture, with an exp so our strict default passes it. */
function accessData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const data: Record<string, unknown> = { jti: '1234', sub: 'username', type: 'access', fresh: true, csrf: 'abcd', exp: nowSeconds() + 600, ...overrides };
  for (const [key, value] of Object.entries(data)) if (value === undefined) delete data[key];
  return data;
}

const encode = (data: Record<string, unknown>) => forge(HS256_HEADER, data);

async function decodeError(token: string): Promise<{ status: number; message: string }> {
  try {
    await decodeToken(token);
  } catch (error) {
    return error as { status: number; message: string };
  }
  return assert.fail('decodeToken resolved');
}

describe('parity with fje 4: decoding', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });
  const start = (options: Partial<JwtOptions> = {}) => {
    server?.close();
    server = startServer([DecodeController], { secret: SECRET, ...options });
  };
  const get = (token: string) => request(server!).get('/fje-decode/protected').set('Authorization', `Bearer ${token}`);

  describe('an untyped token (acceptUntypedTokens)', () => {
    const untyped = () => encode(accessData({ type: undefined, jti: undefined, fresh: undefined }));

    it('test_default_decode_token_values: decodeToken fills type access and fresh false; jti stays absent', async () => {
      start({ acceptUntypedTokens: true });
      const decoded = await decodeToken(untyped());
      assert.equal(decoded.type, 'access');
      assert.equal(decoded.fresh, false);
      assert.equal(decoded.jti, undefined); // fje writes None; absent is our undefined
    });

    it('test_default_decode_token_values over HTTP: @Claims() of the route reads the same defaults', async () => {
      start({ acceptUntypedTokens: true });
      expectResponse(await get(untyped()), 200, { type: 'access', fresh: false, jti: null });
    });

    it('a fresh claim the untyped token carries is kept', async () => {
      start({ acceptUntypedTokens: true });
      assert.equal((await decodeToken(encode(accessData({ type: undefined, fresh: true })))).fresh, true);
    });

    it('a typed token gets no defaults: a refresh token keeps no fresh claim', async () => {
      start({ acceptUntypedTokens: true });
      const decoded = await decodeToken(encode(accessData({ type: 'refresh', fresh: undefined })));
      assert.equal(decoded.type, 'refresh');
      assert.equal('fresh' in decoded, false);
    });

    it('without acceptUntypedTokens the untyped token is refused: 422 Missing claim: type', async () => {
      start();
      assert.deepEqual(await decodeError(untyped()).then((e) => [e.status, e.message]), [422, 'Missing claim: type']);
      expectResponse(await get(untyped()), 422, { msg: 'Missing claim: type' });
    });
  });

  describe('audience', () => {
    // fje: test_valid_aud
    for (const aud of ['foo', ['bar'], ['foo', 'bar', 'baz']]) {
      it(`test_valid_aud: ${JSON.stringify(aud)} against decodeAudience ['foo', 'bar']`, async () => {
        start({ decodeAudience: ['foo', 'bar'] });
        assert.deepEqual((await decodeToken(encode(accessData({ aud })))).aud, aud);
      });
    }

    // fje: test_invalid_aud
    for (const aud of ['bar', ['bar'], ['bar', 'baz']]) {
      it(`test_invalid_aud: ${JSON.stringify(aud)} against decodeAudience 'foo': 422 Audience doesn't match`, async () => {
        start({ decodeAudience: 'foo' });
        const error = await decodeError(encode(accessData({ aud })));
        assert.deepEqual([error.status, error.message], [422, "Audience doesn't match"]);
      });
    }

    // fje: test_verify_no_aud
    it('test_verify_no_aud: with no decodeAudience any aud passes', async () => {
      start();
      assert.deepEqual((await decodeToken(encode(accessData({ aud: ['bar', 'baz'] })))).aud, ['bar', 'baz']);
    });

    // fje: test_jwt_invalid_audience (test_view_decorators.py)
    it('test_jwt_invalid_audience: none expected 200; expected and missing 422; expected and wrong 422', async () => {
      start();
      expectResponse(await get(encode(accessData())), 200, { type: 'access', fresh: true, jti: '1234' });
      start({ decodeAudience: 'my_audience' });
      expectResponse(await get(encode(accessData())), 422, { msg: 'Token is missing the "aud" claim' });
      expectResponse(await get(encode(accessData({ aud: 'different_audience' }))), 422, { msg: "Audience doesn't match" });
      expectResponse(await get(encode(accessData({ aud: 'my_audience' }))), 200, { type: 'access', fresh: true, jti: '1234' });
    });
  });

  describe('issuer', () => {
    it('test_encode_iss: encodeIssuer writes iss', async () => {
      start({ encodeIssuer: 'foobar' });
      assert.equal((await decodeToken(await createAccessToken('username'))).iss, 'foobar');
    });

    it('test_mismatch_iss: encodeIssuer foobar, decodeIssuer baz: 422 Invalid issuer', async () => {
      start({ encodeIssuer: 'foobar', decodeIssuer: 'baz' });
      const error = await decodeError(await createAccessToken('username'));
      assert.deepEqual([error.status, error.message], [422, 'Invalid issuer']);
    });

    it('test_valid_decode_iss / test_invalid_decode_iss', async () => {
      start({ decodeIssuer: 'foobar' });
      assert.equal((await decodeToken(encode(accessData({ iss: 'foobar' })))).iss, 'foobar');
      start({ decodeIssuer: 'baz' });
      assert.equal((await decodeError(encode(accessData({ iss: 'foobar' })))).message, 'Invalid issuer');
    });

    // fje: test_jwt_invalid_issuer (test_view_decorators.py)
    it('test_jwt_invalid_issuer: none expected 200; expected and missing 422; expected and wrong 422', async () => {
      start();
      expectResponse(await get(encode(accessData())), 200, { type: 'access', fresh: true, jti: '1234' });
      start({ decodeIssuer: 'my_issuer' });
      expectResponse(await get(encode(accessData())), 422, { msg: 'Token is missing the "iss" claim' });
      expectResponse(await get(encode(accessData({ iss: 'different_issuer' }))), 422, { msg: 'Invalid issuer' });
      expectResponse(await get(encode(accessData({ iss: 'my_issuer' }))), 200, { type: 'access', fresh: true, jti: '1234' });
    });
  });

  describe('the identity claim', () => {
    // fje: test_invalid_sub_values
    for (const sub of [123, {}, [], false]) {
      it(`test_invalid_sub_values: sub ${JSON.stringify(sub)}: 422 Subject must be a string`, async () => {
        start();
        const error = await decodeError(encode(accessData({ sub })));
        assert.deepEqual([error.status, error.message], [422, 'Subject must be a string']);
        expectResponse(await get(encode(accessData({ sub }))), 422, { msg: 'Subject must be a string' });
      });
    }

    // fje: test_invalid_sub_values_allowed_with_no_verify
    for (const sub of [123, {}, [], false]) {
      it(`test_invalid_sub_values_allowed_with_no_verify: sub ${JSON.stringify(sub)} with verifySub false`, async () => {
        start({ verifySub: false });
        assert.deepEqual((await decodeToken(encode(accessData({ sub })))).sub, sub);
      });
    }

    it('an identity claim other than sub gets the same text (identityClaim: identity)', async () => {
      start({ identityClaim: 'identity' });
      expectResponse(await get(encode(accessData({ sub: undefined, identity: 42 }))), 422, { msg: 'Subject must be a string' });
      expectResponse(await get(encode(accessData({ sub: undefined, identity: 'username' }))), 200, { type: 'access', fresh: true, jti: '1234' });
    });

    it('test_missing_claims (sub): 422 Missing claim: sub; an empty sub is refused too', async () => {
      start();
      expectResponse(await get(encode(accessData({ sub: undefined }))), 422, { msg: 'Missing claim: sub' });
      expectResponse(await get(encode(accessData({ sub: '' }))), 422, { msg: 'Invalid claim: sub must be a non-empty string' });
    });
  });
});
