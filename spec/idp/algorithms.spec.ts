/**
 * 0.3 J: `algorithms` (the verification allow-list, apart from the signing `algorithm`) and
 * EdDSA (Ed25519, RFC 8037) with PEM, KeyObject and JWK keys, locally and from a JWK Set
 * served over real HTTP. Each accepted token sits beside the refused one.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createAccessToken, JwtManager, JwtOptions } from '../../src';
import { expectResponse } from '../support/assert-response';
import { idpToken, serveIdpApp } from '../support/idp-app';
import { JwksServer } from '../support/jwks-server';
import { testKey } from '../support/keys';
import { problemsOf, assertListed } from '../support/config-problems';



const JWKS = 'https://idp.example/.well-known/jwks.json';

/** A token whose signature segment spells the same bytes differently (unused low bits set). */
function respelled(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(token[token.length - 1]);
  return token.slice(0, -1) + alphabet[last | 1];
}

describe('idp: algorithms at configure()', () => {
  afterEach(() => JwtManager.reset());

  it("algorithm: ['RS256', 'ES256'] with jwksUri is a configuration error naming algorithms, not a TypeError", () => {
    const problems = problemsOf({ algorithm: ['RS256', 'ES256'], jwksUri: JWKS });
    assertListed(problems, /^algorithm is the one algorithm tokens are signed with, not a list: .*algorithms: \['RS256', 'ES256'\]/);
    assert.ok(!problems.some((p) => /algorithm must be one of/.test(p)), problems.join('\n'));
  });

  it('algorithms alone with jwksUri: the allow-list is exactly it (and the signing algorithm its first)', () => {
    const { config } = JwtManager.configure({ algorithms: ['RS256', 'ES256', 'EdDSA'], jwksUri: JWKS });
    assert.deepEqual([...config.algorithms], ['RS256', 'ES256', 'EdDSA']);
    assert.equal(config.algorithm, 'RS256');
  });

  it('the default allow-list is [algorithm]', () => {
    const { config } = JwtManager.configure({ algorithm: 'ES256', jwksUri: JWKS });
    assert.deepEqual([...config.algorithms], ['ES256']);
  });

  for (const [name, value] of [['empty', []], ["holding 'none'", ['RS256', 'none']], ['a string', 'RS256'], ['of numbers', [256]]] as const) {
    it(`algorithms ${name}: refused`, () => {
      assertListed(problemsOf({ algorithms: value, jwksUri: JWKS, algorithm: 'RS256' }), /^algorithms must be a non-empty list among HS256, .*EdDSA/);
    });
  }

  it('algorithms twice the same: refused', () => {
    assertListed(problemsOf({ algorithms: ['RS256', 'RS256'], jwksUri: JWKS }), /^algorithms lists an algorithm twice/);
  });

  it('an HMAC algorithm in the allow-list of a JWK Set: refused', () => {
    assertListed(problemsOf({ algorithms: ['RS256', 'HS256'], jwksUri: JWKS }), /^jwksUri needs asymmetric algorithms .*HS256 is never published/);
  });

  it('an allow-list that leaves out the algorithm of the configured key: refused (its own tokens would fail)', () => {
    assertListed(problemsOf({ algorithm: 'RS256', algorithms: ['ES256'], publicKey: testKey('rsaA').publicPem }), /^algorithms leaves out RS256/);
  });

  it('EdDSA with an Ed448, an RSA or an EC key: refused, one problem each', () => {
    assertListed(problemsOf({ algorithm: 'EdDSA', privateKey: testKey('ed448').privatePem }), /^privateKey must be an Ed25519 key for EdDSA \(got ed448\)/);
    assertListed(problemsOf({ algorithm: 'EdDSA', publicKey: testKey('rsaA').publicPem }), /^publicKey must be an Ed25519 key for EdDSA \(got rsa\)/);
    assertListed(problemsOf({ algorithm: 'EdDSA', publicKey: testKey('p256').publicKey }), /^publicKey must be an Ed25519 key for EdDSA \(got ec\)/);
  });

  it('ES256 with an Ed25519 key: refused', () => {
    assertListed(problemsOf({ algorithm: 'ES256', publicKey: testKey('ed25519').publicPem }), /^publicKey must be an EC key on curve prime256v1 for ES256 \(got ed25519\)/);
  });

  it('a private JWK given as publicKey: refused as a private key', () => {
    const jwk = testKey('ed25519').privateKey.export({ format: 'jwk' });
    assertListed(problemsOf({ algorithm: 'EdDSA', publicKey: jwk }), /^publicKey holds a private key/);
  });

  it('the kid of an Ed25519 key is its RFC 7638 thumbprint (crv, kty, x)', async () => {
    const jose = await import('jose');
    JwtManager.configure({ algorithm: 'EdDSA', privateKey: testKey('ed25519').privateKey });
    const expected = await jose.calculateJwkThumbprint(testKey('ed25519').publicKey.export({ format: 'jwk' }) as never);
    assert.equal(JwtManager.instance.config.keys.signing.kid, expected);
    assert.deepEqual(JwtManager.instance.jwks().keys.map((k) => [k.kty, k.crv, k.alg, k.kid]), [['OKP', 'Ed25519', 'EdDSA', expected]]);
  });
});

describe('idp: EdDSA with local keys, through a real route', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    JwtManager.reset();
  });
  const me = (token: string) => request(server!).get('/me').set('Authorization', `Bearer ${token}`);
  const ed = testKey('ed25519');
  const forms: [string, Partial<JwtOptions>][] = [
    ['PEM strings', { privateKey: ed.privatePem, publicKey: ed.publicPem }],
    ['KeyObjects', { privateKey: ed.privateKey, publicKey: ed.publicKey }],
    ['JWK objects', { privateKey: ed.privateKey.export({ format: 'jwk' }), publicKey: ed.publicKey.export({ format: 'jwk' }) }],
    ['a private JWK alone', { privateKey: ed.privateKey.export({ format: 'jwk' }) }],
  ];
  for (const [name, keys] of forms) {
    it(`keys as ${name}: a token we sign opens the route; one signed by another Ed25519 key: 422`, async () => {
      server = serveIdpApp({ algorithm: 'EdDSA', ...keys });
      const token = await createAccessToken('alice');
      assert.deepEqual(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()), { alg: 'EdDSA', typ: 'JWT', kid: JwtManager.instance.config.keys.signing.kid });
      expectResponse(await me(token), 200, { identity: 'alice' });
      const kid = JwtManager.instance.config.keys.signing.kid;
      const forged = idpToken('EdDSA', testKey('ed25519b').privateKey, { kid, claims: { type: 'access' } });
      expectResponse(await me(forged), 422, { msg: 'Signature verification failed' });
    });
  }

  it('a respelled EdDSA signature (same bytes): 422 Signature verification failed', async () => {
    server = serveIdpApp({ algorithm: 'EdDSA', privateKey: ed.privateKey });
    const token = await createAccessToken('alice');
    expectResponse(await me(token), 200, { identity: 'alice' });
    expectResponse(await me(respelled(token)), 422, { msg: 'Signature verification failed' });
  });

  it('a truncated signature (63 bytes): 422 Signature verification failed', async () => {
    server = serveIdpApp({ algorithm: 'EdDSA', privateKey: ed.privateKey });
    const [h, p, s] = (await createAccessToken('alice')).split('.');
    const short = Buffer.from(s, 'base64url').subarray(0, 63).toString('base64url');
    expectResponse(await me(`${h}.${p}.${short}`), 422, { msg: 'Signature verification failed' });
  });

  it('an RS256 token where EdDSA is configured: 422 The specified alg value is not allowed', async () => {
    server = serveIdpApp({ algorithm: 'EdDSA', privateKey: ed.privateKey });
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { claims: { type: 'access' } })), 422, { msg: 'The specified alg value is not allowed' });
  });

  it('decodeKeyLoader answering an Ed25519 JWK: verifies; answering an RSA key for an EdDSA token: 422', async () => {
    let answer: unknown = ed.publicKey.export({ format: 'jwk' });
    server = serveIdpApp({ algorithms: ['EdDSA', 'RS256'], decodeKeyLoader: () => answer as never, acceptUntypedTokens: true });
    const token = idpToken('EdDSA', ed.privateKey);
    expectResponse(await me(token), 200, { identity: 'alice' });
    answer = testKey('rsaA').publicKey;
    expectResponse(await me(idpToken('EdDSA', ed.privateKey)), 422, { msg: 'The specified alg value is not allowed' });
  });
});

describe('idp: several algorithms from one JWK Set over HTTP', () => {
  let jwks: JwksServer;
  let server: Server | undefined;
  beforeEach(async () => {
    jwks = await JwksServer.start();
    jwks.publish([
      { kid: 'rsa', key: testKey('rsaA').publicKey, alg: 'RS256' },
      { kid: 'ec', key: testKey('p256').publicKey, alg: 'ES256' },
      { kid: 'ed', key: testKey('ed25519').publicKey, alg: 'EdDSA' },
      { kid: 'ed448', key: testKey('ed448').publicKey },
    ]);
  });
  afterEach(async () => {
    server?.close();
    JwtManager.reset();
    await jwks.stop();
  });
  const me = (token: string) => request(server!).get('/me').set('Authorization', `Bearer ${token}`);
  const start = (options: Partial<JwtOptions> = {}) =>
    (server = serveIdpApp({ algorithms: ['RS256', 'ES256', 'EdDSA'], jwksUri: jwks.url, acceptUntypedTokens: true, ...options }));

  it('RS256, ES256 and EdDSA tokens pass, with one fetch between them', async () => {
    start();
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'rsa' })), 200, { identity: 'alice' });
    expectResponse(await me(idpToken('ES256', testKey('p256').privateKey, { kid: 'ec' })), 200, { identity: 'alice' });
    expectResponse(await me(idpToken('EdDSA', testKey('ed25519').privateKey, { kid: 'ed' })), 200, { identity: 'alice' });
    assert.equal(jwks.fetches, 1);
  });

  it('PS256 (off the list) signed with the published RSA key: 422 The specified alg value is not allowed, nothing fetched', async () => {
    start();
    expectResponse(await me(idpToken('PS256', testKey('rsaA').privateKey, { kid: 'rsa' })), 422, { msg: 'The specified alg value is not allowed' });
    assert.equal(jwks.fetches, 0);
  });

  it('an EdDSA token naming the kid of the RSA key, or of an Ed448 key: refused (422), never verified with it', async () => {
    start();
    expectResponse(await me(idpToken('EdDSA', testKey('ed25519').privateKey, { kid: 'rsa' })), 422, { msg: 'Unknown key id (kid)' });
    expectResponse(await me(idpToken('EdDSA', testKey('ed448').privateKey, { kid: 'ed448' })), 422, { msg: 'Unknown key id (kid)' });
  });

  it('an ES256 token naming the kid of the Ed25519 key: 422', async () => {
    start();
    expectResponse(await me(idpToken('ES256', testKey('p256').privateKey, { kid: 'ed' })), 422, { msg: 'Unknown key id (kid)' });
  });

  it('with only RS256 allowed, the EdDSA token of the same set: 422 The specified alg value is not allowed', async () => {
    start({ algorithms: ['RS256'] });
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'rsa' })), 200, { identity: 'alice' });
    expectResponse(await me(idpToken('EdDSA', testKey('ed25519').privateKey, { kid: 'ed' })), 422, { msg: 'The specified alg value is not allowed' });
  });
});
