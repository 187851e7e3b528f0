import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { JwtManager } from '../../src';
import { accessClaims, craftToken, listenTestApp, loadJose } from '../support/app';
import { TEST_SECRET } from '../support/keys';

const AUDIENCE = 'api.example.com';
const ISSUER = 'https://issuer.example.com';

describe('koa: audience, issuer and leeway', () => {
  let server: Server;

  before(() => { server = listenTestApp(); });
  after(() => server.close());
  afterEach(() => JwtManager.reset());

  /** A token signed with the configured secret, with `claims` over a valid access payload. */
  async function getWith(claims: Record<string, unknown>) {
    const token = craftToken({ alg: 'HS256', typ: 'JWT' }, accessClaims('alice', claims), Buffer.from(TEST_SECRET));
    return request(server).get('/me').set('Authorization', `Bearer ${token}`);
  }

  async function assertRefused(claims: Record<string, unknown>, status: number, msg: string) {
    const res = await getWith(claims);
    assert.equal(res.status, status);
    assert.deepEqual(res.body, { msg });
  }

  async function assertAccepted(claims: Record<string, unknown>) {
    const res = await getWith(claims);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { identity: 'alice' });
  }

  describe('audience (one configured)', () => {
    beforeEach(() => JwtManager.configure({ secret: TEST_SECRET, audience: AUDIENCE }));

    it('our tokens carry it, and jose checks it', async () => {
      const jose = await loadJose();
      const token = await JwtManager.instance.createAccessToken('alice');
      const { payload } = await jose.jwtVerify(token, Buffer.from(TEST_SECRET), { audience: AUDIENCE, algorithms: ['HS256'] });
      assert.equal(payload.aud, AUDIENCE);
    });

    it('the exact audience: 200', () => assertAccepted({ aud: AUDIENCE }));
    it('an aud array holding it: 200', () => assertAccepted({ aud: ['other', AUDIENCE] }));
    it('a prefix of it: 422 Audience doesn\'t match', () => assertRefused({ aud: 'api.example' }, 422, "Audience doesn't match"));
    it('it with a suffix: 422 Audience doesn\'t match', () => assertRefused({ aud: `${AUDIENCE}.evil.com` }, 422, "Audience doesn't match"));
    it('a substring of it: 422 Audience doesn\'t match', () => assertRefused({ aud: 'example.com' }, 422, "Audience doesn't match"));
    it('another case: 422 Audience doesn\'t match', () => assertRefused({ aud: AUDIENCE.toUpperCase() }, 422, "Audience doesn't match"));
    it('no aud claim: 422 Token is missing the "aud" claim', () => assertRefused({}, 422, 'Token is missing the "aud" claim'));
    it('an aud array without it: 422 Audience doesn\'t match', () => assertRefused({ aud: ['api', 'example.com'] }, 422, "Audience doesn't match"));
    it('an empty aud array: 422 Audience doesn\'t match', () => assertRefused({ aud: [] }, 422, "Audience doesn't match"));
    it('an aud that is not a string: 422 Invalid claim format in token', () => assertRefused({ aud: { 0: AUDIENCE } }, 422, 'Invalid claim format in token'));
  });

  describe('audience (a list configured)', () => {
    beforeEach(() => JwtManager.configure({ secret: TEST_SECRET, audience: ['web', 'mobile'] }));

    it('any one of them: 200', () => assertAccepted({ aud: 'mobile' }));
    it('none of them: 422 Audience doesn\'t match', () => assertRefused({ aud: 'desktop' }, 422, "Audience doesn't match"));

    it('our tokens carry the list and open the route', async () => {
      const token = await JwtManager.instance.createAccessToken('alice');
      assert.deepEqual((await JwtManager.instance.decodeToken(token)).aud, ['web', 'mobile']);
      const res = await request(server).get('/me').set('Authorization', `Bearer ${token}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { identity: 'alice' });
    });
  });

  describe('issuer', () => {
    beforeEach(() => JwtManager.configure({ secret: TEST_SECRET, issuer: ISSUER }));

    it('our tokens carry it, and jose checks it', async () => {
      const jose = await loadJose();
      const token = await JwtManager.instance.createAccessToken('alice');
      const { payload } = await jose.jwtVerify(token, Buffer.from(TEST_SECRET), { issuer: ISSUER, algorithms: ['HS256'] });
      assert.equal(payload.iss, ISSUER);
    });

    it('the exact issuer: 200', () => assertAccepted({ iss: ISSUER }));
    it('with a trailing slash: 422 Invalid issuer', () => assertRefused({ iss: `${ISSUER}/` }, 422, 'Invalid issuer'));
    it('a prefix of it: 422 Invalid issuer', () => assertRefused({ iss: 'https://issuer.example' }, 422, 'Invalid issuer'));
    it('another case: 422 Invalid issuer', () => assertRefused({ iss: ISSUER.toUpperCase() }, 422, 'Invalid issuer'));
    it('no iss claim: 422 Token is missing the "iss" claim', () => assertRefused({}, 422, 'Token is missing the "iss" claim'));
    it('an iss array holding it: 422 Invalid issuer', () => assertRefused({ iss: [ISSUER] }, 422, 'Invalid issuer'));
  });

  describe('leeway of 10 seconds', () => {
    const now = () => Math.floor(Date.now() / 1000);
    beforeEach(() => JwtManager.configure({ secret: TEST_SECRET, leeway: 10 }));

    it('exp 5s past (within leeway): 200', () => assertAccepted({ exp: now() - 5 }));
    it('exp exactly 10s past (the edge): 401 Token has expired', () => assertRefused({ exp: now() - 10 }, 401, 'Token has expired'));
    it('exp 30s past (beyond leeway): 401 Token has expired', () => assertRefused({ exp: now() - 30 }, 401, 'Token has expired'));
    it('nbf 5s ahead (within leeway): 200', () => assertAccepted({ nbf: now() + 5 }));
    it('nbf 30s ahead (beyond leeway): 422 Token not yet valid', () => assertRefused({ nbf: now() + 30 }, 422, 'Token not yet valid'));
    it('iat 5s ahead (within leeway): 200', () => assertAccepted({ iat: now() + 5 }));
    it('iat 30s ahead (beyond leeway): 422 Token not yet valid', () => assertRefused({ iat: now() + 30 }, 422, 'Token not yet valid'));
  });

  describe('no leeway (the default)', () => {
    const now = () => Math.floor(Date.now() / 1000);
    beforeEach(() => JwtManager.configure({ secret: TEST_SECRET }));

    it('exp 2s past: 401 Token has expired', () => assertRefused({ exp: now() - 2 }, 401, 'Token has expired'));
    it('nbf 5s ahead: 422 Token not yet valid', () => assertRefused({ nbf: now() + 5 }, 422, 'Token not yet valid'));
  });
});
