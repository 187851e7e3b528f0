/**
 * 0.3 J over real HTTP: `typ`, the `scopes` guard option (RFC 6750 insufficient_scope),
 * `rolesClaim` paths, `invalidTokenStatus: 401`, `issuerDiscovery` and `issuers`, each
 * refused request beside the accepted one, with a real JWK Set (and metadata) server.
 */
import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import type { Server } from 'node:http';
import Koa from 'koa';
import request from 'supertest';
import { decodeToken, GuardOptions, JwtManager, JwtOptions, jwtRequired } from '../../src';
import { jwksTiming } from '../../src/core/jwks';
import { expectResponse } from '../support/assert-response';
import { idpToken, serveIdpApp } from '../support/idp-app';
import { JwksServer } from '../support/jwks-server';
import { testKey } from '../support/keys';
import { problemsOf } from '../support/config-problems';

const DEFAULT_TIMING = { ...jwksTiming };
const ROUTES: Record<string, GuardOptions> = {
  '/me': {},
  '/admin': { roles: ['admin'] },
  '/write': { scopes: ['api:read', 'api:write'] },
};
const rsa = testKey('rsaA');


describe('idp: a resource server for outside identity providers', () => {
  let jwks: JwksServer;
  let other: JwksServer;
  let server: Server | undefined;
  beforeEach(async () => {
    [jwks, other] = await Promise.all([JwksServer.start(), JwksServer.start()]);
    jwks.publish([{ kid: 'a', key: rsa.publicKey, alg: 'RS256' }]);
    other.publish([{ kid: 'e', key: testKey('ed25519').publicKey, alg: 'EdDSA' }]);
  });
  afterEach(async () => {
    server?.close();
    JwtManager.reset();
    await Promise.all([jwks.stop(), other.stop()]);
    Object.assign(jwksTiming, DEFAULT_TIMING);
  });
  const get = (path: string, token: string) => request(server!).get(path).set('Authorization', `Bearer ${token}`);
  const start = (options: Partial<JwtOptions> = {}) =>
    (server = serveIdpApp({ algorithm: 'RS256', jwksUri: jwks.url, acceptUntypedTokens: true, ...options } as JwtOptions, ROUTES));
  const token = (options: Parameters<typeof idpToken>[2] = {}) => idpToken('RS256', rsa.privateKey, { kid: 'a', ...options });

  describe('typ', () => {
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
      it(`typ: 'at+jwt' accepts a header typ of '${typ}'`, async () => {
        start({ typ: 'at+jwt' });
        expectResponse(await get('/me', token({ typ })), 200, { identity: 'alice' });
      });
    }
    for (const [name, typ] of [['JWT (an ID token)', 'JWT'], ['none', null], ['dpop+jwt', 'dpop+jwt'], ['a prefix only', 'application/at']] as const) {
      it(`typ: 'at+jwt' refuses ${name}: 422 Invalid token type (typ), before any fetch`, async () => {
        start({ typ: 'at+jwt' });
        expectResponse(await get('/me', token({ typ })), 422, { msg: 'Invalid token type (typ)' });
        assert.equal(jwks.fetches, 0);
      });
    }
    it('a list: each value accepted, others refused; without the option any typ passes', async () => {
      start({ typ: ['at+jwt', 'application/jwt'] });
      expectResponse(await get('/me', token({ typ: 'JWT' })), 200, { identity: 'alice' });
      expectResponse(await get('/me', token({ typ: 'at+JWT' })), 200, { identity: 'alice' });
      expectResponse(await get('/me', token({ typ: 'id+jwt' })), 422, { msg: 'Invalid token type (typ)' });
      server!.close();
      start();
      expectResponse(await get('/me', token({ typ: 'id+jwt' })), 200, { identity: 'alice' });
    });
    it('a typ that is no media type at configure(): refused', () => {
      assert.ok(problemsOf({ algorithm: 'RS256', jwksUri: jwks.url, typ: [] }).some((p) => /^typ must be a media type/.test(p)));
      assert.ok(problemsOf({ algorithm: 'RS256', jwksUri: jwks.url, typ: 7 }).some((p) => /^typ must be a media type/.test(p)));
    });
  });

  describe('scopes', () => {
    it("scope 'api:read api:write' passes a route requiring both; 'api:read' alone: 403 with the RFC 6750 challenge", async () => {
      start();
      expectResponse(await get('/write', token({ claims: { scope: 'api:read api:write openid' } })), 200, { identity: 'alice' });
      const refused = await get('/write', token({ claims: { scope: 'api:read' } }));
      expectResponse(refused, 403, { msg: 'Insufficient scope' });
      assert.equal(refused.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="api:read api:write"');
    });
    it('scp as a list (Okta) and as a string (Entra) both count; a whole-string match of one scope does not', async () => {
      start();
      expectResponse(await get('/write', token({ claims: { scp: ['api:write', 'api:read'] } })), 200, { identity: 'alice' });
      expectResponse(await get('/write', token({ claims: { scp: 'api:write api:read' } })), 200, { identity: 'alice' });
      expectResponse(await get('/write', token({ claims: { scp: ['api:read api:write'] } })), 403, { msg: 'Insufficient scope' });
      expectResponse(await get('/write', token({ claims: { scope: 'api:readapi:write' } })), 403, { msg: 'Insufficient scope' });
      expectResponse(await get('/write', token()), 403, { msg: 'Insufficient scope' });
      expectResponse(await get('/write', token({ claims: { scope: ['api:read', 'api:write'], scp: 'x' } })), 200, { identity: 'alice' });
    });
    it('the 403 goes through forbiddenLoader; a forged token with every scope is still 422, never 403', async () => {
      start({ forbiddenLoader: (payload) => ({ status: 403, body: { denied: payload.sub } }) });
      const refused = await get('/write', token({ claims: { scope: 'api:read' } }));
      expectResponse(refused, 403, { denied: 'alice' });
      assert.match(refused.headers['www-authenticate'], /^Bearer error="insufficient_scope"/);
      const forged = idpToken('RS256', testKey('rsaB').privateKey, { kid: 'a', claims: { scope: 'api:read api:write' } });
      expectResponse(await get('/write', forged), 422, { msg: 'Signature verification failed' });
    });
    for (const [name, scopes] of [['empty', []], ['with a space', ['a b']], ['with a quote', ['a"b']], ['non-ASCII', ['ł']]] as const) {
      it(`scopes ${name}: a usage error when the guard is built`, () => {
        assert.throws(() => new (require('../../src/koa/guard').Guard)({ scopes }), /scopes must be a non-empty list of scope names/);
      });
    }
  });

  describe('rolesClaim', () => {
    it("['realm_access', 'roles'] reads Keycloak's nested roles; a top-level roles claim no longer counts", async () => {
      start({ rolesClaim: ['realm_access', 'roles'] });
      expectResponse(await get('/admin', token({ claims: { realm_access: { roles: ['admin', 'user'] } } })), 200, { identity: 'alice' });
      expectResponse(await get('/admin', token({ claims: { realm_access: { roles: ['user'] } } })), 403, { msg: 'Insufficient permissions' });
      expectResponse(await get('/admin', token({ claims: { roles: ['admin'] } })), 403, { msg: 'Insufficient permissions' });
      expectResponse(await get('/admin', token({ claims: { realm_access: 'admin' } })), 403, { msg: 'Insufficient permissions' });
    });
    it('a string with dots stays one claim name', async () => {
      start({ rolesClaim: 'https://example.com/roles' });
      expectResponse(await get('/admin', token({ claims: { 'https://example.com/roles': ['admin'] } })), 200, { identity: 'alice' });
      expectResponse(await get('/admin', token({ claims: { https: { '//example': { 'com/roles': ['admin'] } } } })), 403, { msg: 'Insufficient permissions' });
    });
    it('a path with an empty name, or an empty list: refused at configure()', () => {
      assert.ok(problemsOf({ secret: 'x'.repeat(32), rolesClaim: ['realm_access', ''] }).some((p) => /^rolesClaim must be a claim name or a path/.test(p)));
      assert.ok(problemsOf({ secret: 'x'.repeat(32), rolesClaim: [] }).some((p) => /^rolesClaim must be/.test(p)));
    });
  });

  describe('invalidTokenStatus', () => {
    it('401: a forged token is 401 with Bearer error="invalid_token"; the default stays 422 without the header', async () => {
      const forged = idpToken('RS256', testKey('rsaB').privateKey, { kid: 'a' });
      start({ invalidTokenStatus: 401 });
      const refused = await get('/me', forged);
      expectResponse(refused, 401, { msg: 'Signature verification failed' });
      assert.match(refused.headers['www-authenticate'], /^Bearer error="invalid_token"/);
      expectResponse(await get('/me', 'not.a.token'), 401, { msg: 'Invalid header string: not valid JSON' });
      expectResponse(await get('/me', token()), 200, { identity: 'alice' });
      server!.close();
      JwtManager.reset();
      start();
      const default422 = await get('/me', forged);
      expectResponse(default422, 422, { msg: 'Signature verification failed' });
      assert.equal(default422.headers['www-authenticate'], undefined);
    });
    const CHALLENGE = 'Bearer error="invalid_token", error_description="Invalid token"';
    const BAD_HEADER = { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" };
    for (const value of ['Bearer', 'Bearer ', 'Bearer a b', 'bearer  a  b  c', 'Basic x, Bearer']) {
      it(`401: 'Authorization: ${value}' is 401 with ${CHALLENGE} (RFC 7235 §3.1); by default 422 without it`, async () => {
        start({ invalidTokenStatus: 401 });
        const refused = await request(server!).get('/me').set('Authorization', value);
        expectResponse(refused, 401, BAD_HEADER);
        assert.equal(refused.headers['www-authenticate'], CHALLENGE);
        expectResponse(await get('/me', token()), 200, { identity: 'alice' });
        server!.close();
        JwtManager.reset();
        start();
        const default422 = await request(server!).get('/me').set('Authorization', value);
        expectResponse(default422, 422, BAD_HEADER);
        assert.equal(default422.headers['www-authenticate'], undefined);
      });
    }
    it('401: a token refused in the query string, a cookie or a repeated query parameter also carries the challenge', async () => {
      start({ invalidTokenStatus: 401, tokenLocation: ['query', 'cookies'] });
      const fromQuery = await request(server!).get('/me?jwt=not.a.token');
      expectResponse(fromQuery, 401, { msg: 'Invalid header string: not valid JSON' });
      assert.equal(fromQuery.headers['www-authenticate'], CHALLENGE);
      const repeated = await request(server!).get('/me?jwt=a&jwt=b');
      expectResponse(repeated, 401, { msg: 'Bad query string: "jwt" given more than once' });
      assert.equal(repeated.headers['www-authenticate'], CHALLENGE);
      const fromCookie = await request(server!).get('/me').set('Cookie', 'access_token_cookie=not.a.token');
      expectResponse(fromCookie, 401, { msg: 'Invalid header string: not valid JSON' });
      assert.equal(fromCookie.headers['www-authenticate'], CHALLENGE);
      expectResponse(await request(server!).get(`/me?jwt=${token()}`), 200, { identity: 'alice' });
    });
    it('401: a token refused by a handler downstream of the guard (decodeToken) also carries the challenge', async () => {
      JwtManager.configure({ algorithm: 'RS256', jwksUri: jwks.url, acceptUntypedTokens: true, invalidTokenStatus: 401 });
      const app = new Koa();
      app.silent = true;
      app.use(jwtRequired());
      app.use(async (ctx) => {
        ctx.body = await decodeToken(String(ctx.get('X-Other-Token')));
      });
      server = app.listen(0);
      const refused = await get('/', token()).set('X-Other-Token', 'not.a.token');
      expectResponse(refused, 401, { msg: 'Invalid header string: not valid JSON' });
      assert.equal(refused.headers['www-authenticate'], CHALLENGE);
      const allowed = await get('/', token()).set('X-Other-Token', token());
      assert.deepEqual([allowed.status, allowed.body.sub], [200, 'alice']);
    });
    it('other values: refused at configure()', () => {
      assert.ok(problemsOf({ secret: 'x'.repeat(32), invalidTokenStatus: 400 }).some((p) => /^invalidTokenStatus must be 422 or 401/.test(p)));
    });
  });

  describe('issuerDiscovery', () => {
    const metadata = () => ({ issuer: jwks.origin, jwks_uri: jwks.url });
    it('reads jwks_uri from /.well-known/openid-configuration, lazily and once', async () => {
      jwks.documents.set('/.well-known/openid-configuration', metadata());
      start({ jwksUri: undefined, issuerDiscovery: true, issuer: jwks.origin });
      assert.equal(jwks.metadataFetches, 0);
      for (const sub of ['u1', 'u2', 'u3']) expectResponse(await get('/me', token({ claims: { iss: jwks.origin, sub } })), 200, { identity: sub });
      assert.deepEqual([jwks.metadataFetches, jwks.fetches], [1, 1]);
      expectResponse(await get('/me', token({ claims: { iss: 'https://evil.example' } })), 422, { msg: 'Invalid issuer' });
    });
    it('falls back to RFC 8414 /.well-known/oauth-authorization-server/<path>', async () => {
      const issuer = `${jwks.origin}/realms/main`;
      jwks.documents.set('/.well-known/oauth-authorization-server/realms/main', { issuer, jwks_uri: jwks.url });
      start({ jwksUri: undefined, issuerDiscovery: true, issuer });
      expectResponse(await get('/me', token({ claims: { iss: issuer } })), 200, { identity: 'alice' });
      assert.equal(jwks.metadataFetches, 2);
    });
    it('metadata naming another issuer: 503 Key set unavailable, its jwks_uri never fetched', async () => {
      jwks.documents.set('/.well-known/openid-configuration', { issuer: 'https://evil.example', jwks_uri: jwks.url });
      start({ jwksUri: undefined, issuerDiscovery: true, issuer: jwks.origin });
      expectResponse(await get('/me', token({ claims: { iss: jwks.origin } })), 503, { msg: 'Key set unavailable' });
      assert.equal(jwks.fetches, 0);
    });
    it('metadata whose jwks_uri is plain http to another host: 503', async () => {
      jwks.documents.set('/.well-known/openid-configuration', { issuer: jwks.origin, jwks_uri: 'http://keys.example/jwks.json' });
      start({ jwksUri: undefined, issuerDiscovery: true, issuer: jwks.origin });
      expectResponse(await get('/me', token({ claims: { iss: jwks.origin } })), 503, { msg: 'Key set unavailable' });
    });
    it('unreachable metadata: 503, and 200 junk requests during the backoff cost one metadata fetch', async () => {
      jwks.mode = 'error';
      start({ jwksUri: undefined, issuerDiscovery: true, issuer: jwks.origin });
      const began = Date.now();
      for (let i = 0; i < 200; i += 1) expectResponse(await get('/me', token({ claims: { iss: jwks.origin } })), 503, { msg: 'Key set unavailable' });
      // one fetch per backoff window (1 s, 2 s, ...): on a loaded machine the 200 may outlast the first
      const seconds = (Date.now() - began) / 1000;
      assert.ok(jwks.metadataFetches >= 1 && jwks.metadataFetches <= 1 + Math.floor(Math.log2(1 + seconds)), `${jwks.metadataFetches} metadata fetches in ${seconds.toFixed(1)} s`);
    });
    it('at configure(): needs an issuer, an https one, and no jwksUri beside it', () => {
      assert.ok(problemsOf({ algorithm: 'RS256', issuerDiscovery: true }).some((p) => /^issuerDiscovery needs issuer/.test(p)));
      assert.ok(problemsOf({ algorithm: 'RS256', issuerDiscovery: true, issuer: 'http://idp.example' }).some((p) => /^issuerDiscovery needs an issuer that is an https/.test(p)));
      assert.ok(problemsOf({ algorithm: 'RS256', issuerDiscovery: true, issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' }).some((p) => /^give jwksUri or issuerDiscovery/.test(p)));
    });
  });

  describe('issuers', () => {
    const entries = () => [
      { issuer: 'https://rsa.example', jwksUri: jwks.url, audience: 'api' },
      { issuer: 'https://ed.example', jwksUri: other.url, algorithms: ['EdDSA'] as const, audience: 'other-api', typ: 'at+jwt' },
    ];
    const startIssuers = (extra: Partial<JwtOptions> = {}) =>
      start({ jwksUri: undefined, algorithms: ['RS256'], issuers: entries() as never, ...extra });
    const edToken = (claims: Record<string, unknown>, typ?: string) =>
      idpToken('EdDSA', testKey('ed25519').privateKey, { kid: 'e', typ, claims: { iss: 'https://ed.example', aud: 'other-api', ...claims } });

    it("each issuer's tokens pass with its own keys, audience, algorithms and typ", async () => {
      startIssuers();
      expectResponse(await get('/me', token({ claims: { iss: 'https://rsa.example' } })), 200, { identity: 'alice' });
      expectResponse(await get('/me', edToken({})), 200, { identity: 'alice' });
      assert.deepEqual([jwks.fetches, other.fetches], [1, 1]);
    });
    it('an unlisted issuer: 422 Invalid issuer and no fetch at all; a missing iss: 422 too', async () => {
      startIssuers();
      for (let i = 0; i < 50; i += 1) expectResponse(await get('/me', token({ claims: { iss: `https://evil${i}.example` } })), 422, { msg: 'Invalid issuer' });
      expectResponse(await get('/me', token({ claims: { iss: undefined } })), 422, { msg: 'Token is missing the "iss" claim' });
      expectResponse(await get('/me', token({ claims: { iss: ['https://rsa.example'] } })), 422, { msg: 'Invalid issuer' });
      assert.deepEqual([jwks.fetches, other.fetches, jwks.metadataFetches], [0, 0, 0]);
    });
    it("one issuer's rules never apply to another's tokens", async () => {
      startIssuers();
      // the RSA key of rsa.example does not verify for ed.example, whose allow-list is EdDSA only
      expectResponse(await get('/me', token({ typ: 'at+jwt', claims: { iss: 'https://ed.example', aud: 'other-api' } })), 422, { msg: 'The specified alg value is not allowed' });
      expectResponse(await get('/me', edToken({ aud: 'api' }, 'at+jwt')), 422, { msg: "Audience doesn't match" });
      expectResponse(await get('/me', edToken({}, 'JWT')), 422, { msg: 'Invalid token type (typ)' });
      expectResponse(await get('/me', token({ claims: { iss: 'https://rsa.example', aud: 'other-api' } })), 422, { msg: "Audience doesn't match" });
      // an EdDSA token claiming rsa.example: off that issuer's allow-list, nothing more fetched from either
      const before = [jwks.fetches, other.fetches];
      expectResponse(await get('/me', edToken({ iss: 'https://rsa.example', aud: 'api' })), 422, { msg: 'The specified alg value is not allowed' });
      assert.deepEqual([jwks.fetches, other.fetches], before);
    });
    it("one issuer's outage is its own: the other's tokens still pass", async () => {
      other.mode = 'error';
      startIssuers();
      expectResponse(await get('/me', edToken({})), 503, { msg: 'Key set unavailable' });
      expectResponse(await get('/me', token({ claims: { iss: 'https://rsa.example' } })), 200, { identity: 'alice' });
    });
    it('an entry with issuerDiscovery finds its set', async () => {
      jwks.documents.set('/.well-known/openid-configuration', { issuer: jwks.origin, jwks_uri: jwks.url });
      start({ jwksUri: undefined, issuers: [{ issuer: jwks.origin, issuerDiscovery: true }] });
      expectResponse(await get('/me', token({ claims: { iss: jwks.origin } })), 200, { identity: 'alice' });
    });
    describe('an app that signs its own HS256 tokens beside remote issuers', () => {
      const secret = 'x'.repeat(40);
      let outages: number;
      const startMixed = (remote: Record<string, unknown>) => {
        outages = 0;
        start({
          jwksUri: undefined, secret, algorithm: 'HS256', algorithms: ['HS256', 'RS256'], encodeIssuer: 'https://own.example',
          issuers: [{ issuer: 'https://idp.example', ...remote }, { issuer: 'https://own.example' }] as never,
          storeUnavailableLoader: (reason) => ((outages += 1), { status: 503, body: { msg: reason } }),
        });
      };
      const hsToken = (iss: string, key = secret) => idpToken('HS256', createSecretKey(Buffer.from(key)), { claims: { iss } });

      for (const [name, remote] of [['jwksUri', () => ({ jwksUri: jwks.url })], ['issuerDiscovery', () => ({ issuerDiscovery: true })]] as const) {
        it(`an HS256 token naming the issuer with ${name}: 422 The specified alg value is not allowed, nothing fetched, no outage; its RS256 tokens and our own HS256 tokens pass`, async () => {
          startMixed(remote());
          for (const key of [secret, 'anything-at-all-anything-at-all!!']) {
            expectResponse(await get('/me', hsToken('https://idp.example', key)), 422, { msg: 'The specified alg value is not allowed' });
          }
          assert.deepEqual([jwks.fetches, jwks.metadataFetches, outages], [0, 0, 0]);
          expectResponse(await get('/me', hsToken('https://own.example')), 200, { identity: 'alice' });
          if (name === 'jwksUri') expectResponse(await get('/me', token({ claims: { iss: 'https://idp.example' } })), 200, { identity: 'alice' });
        });
      }

      it('an issuer with remote keys and only HMAC algorithms to inherit: a configure() problem, listed with the others', () => {
        const problems = problemsOf({ secret, algorithms: ['HS256', 'HS512'], accessTokenExpires: 'soon', issuers: [{ issuer: 'https://idp.example', jwksUri: jwks.url }, { issuer: 'https://own.example' }] });
        assert.ok(problems.some((p) => /^issuers\[0\] verifies with remote keys, which are never HMAC, and the top-level algorithms \(HS256, HS512\) hold no other: give it algorithms of its own/.test(p)), problems.join('\n'));
        assert.ok(problems.some((p) => /accessTokenExpires/.test(p)), problems.join('\n'));
        assert.doesNotThrow(() => JwtManager.configure({ secret, algorithms: ['HS256'], issuers: [{ issuer: 'https://idp.example', jwksUri: jwks.url, algorithms: ['RS256'] }, { issuer: 'https://own.example' }] }));
      });
    });

    it('at configure(): every problem listed', () => {
      const problems = problemsOf({
        algorithm: 'RS256', issuer: 'https://a.example',
        issuers: [{ issuer: 'https://a.example', jwksUri: 'http://keys.example/jwks', colour: 1 }, { issuer: 'https://a.example' }, { issuer: '' }],
      });
      for (const pattern of [/^give issuers, or issuer/, /^issuers\[0\]\.jwksUri must be an absolute https/, /^issuers\[0\]: unknown field 'colour'/,
        /^issuers\[1\] needs jwksUri or issuerDiscovery/, /^issuers\[2\]\.issuer must be a non-empty string/, /^issuers lists an issuer twice/]) {
        assert.ok(problems.some((p) => pattern.test(p)), `${pattern} not in\n${problems.join('\n')}`);
      }
    });
  });
});
