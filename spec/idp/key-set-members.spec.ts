/**
 * A JWK Set with a bad member (a private key, a point off its curve, a symmetric key) is
 * not an outage: the member is never trusted, a token naming it is answered as a token
 * naming no key (422 Unknown key id), the good members keep verifying, and one
 * KJE_KEY_SET_MEMBER_UNUSABLE warning names it per distinct list. Only a failure to have
 * the set is a 503: no other error jose can raise becomes `KeySetUnavailableError`.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { JwtManager } from '../../src';
import { jwksTiming, keyLookupRefusal, KeySetUnavailableError } from '../../src/core/jwks';
import { expectResponse } from '../support/assert-response';
import { idpToken, serveIdpApp } from '../support/idp-app';
import { JwksServer } from '../support/jwks-server';
import { testKey } from '../support/keys';

const DEFAULT_TIMING = { ...jwksTiming };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jwk = (key: KeyObject, extra: Record<string, unknown>) => ({ ...key.export({ format: 'jwk' }), use: 'sig', ...extra });

const leaked = generateKeyPairSync('rsa', { modulusLength: 2048 });
const offCurve = { ...jwk(testKey('p256b').publicKey, { kid: 'offcurve', alg: 'ES256' }), y: Buffer.alloc(32, 7).toString('base64url') };
const BAD_MEMBERS = [
  { ...leaked.privateKey.export({ format: 'jwk' }), kid: 'private', alg: 'RS256', use: 'sig' },
  offCurve,
  { kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url'), kid: 'oct' },
];
const GOOD_MEMBERS = [
  jwk(testKey('rsaA').publicKey, { kid: 'good', alg: 'RS256' }),
  jwk(testKey('p256').publicKey, { kid: 'ec', alg: 'ES256' }),
  // not signature keys: left alone, and not reported
  jwk(testKey('rsaB').publicKey, { kid: 'enc', alg: 'RSA-OAEP', use: 'enc' }),
  { ...generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }), kid: 'ecdh' },
];

describe('idp: a bad member of a JWK Set is unusable, not an outage', () => {
  let jwks: JwksServer;
  let server: Server | undefined;
  let warnings: string[];
  const onWarning = (warning: Error & { code?: string }) => {
    if (warning.code === 'KJE_KEY_SET_MEMBER_UNUSABLE') warnings.push(warning.message);
  };
  beforeEach(async () => {
    warnings = [];
    process.on('warning', onWarning);
    jwks = await JwksServer.start();
    jwks.publishJwks([...GOOD_MEMBERS, ...BAD_MEMBERS]);
  });
  afterEach(async () => {
    process.off('warning', onWarning);
    server?.close();
    JwtManager.reset();
    await jwks.stop();
    Object.assign(jwksTiming, DEFAULT_TIMING);
  });
  const me = (token: string) => request(server!).get('/me').set('Authorization', `Bearer ${token}`);
  const start = (options: Record<string, unknown> = {}) =>
    (server = serveIdpApp({ algorithms: ['RS256', 'ES256'], jwksUri: jwks.url, acceptUntypedTokens: true, ...options }));
  const warned = () => new Promise((resolve) => setImmediate(resolve)).then(() => warnings);

  it('a token naming the private JWK member: 422 Unknown key id (kid), not 503; the good key passes', async () => {
    start();
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
    expectResponse(await me(idpToken('RS256', leaked.privateKey, { kid: 'private' })), 422, { msg: 'Unknown key id (kid)' });
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
  });

  it('a token naming the off-curve EC member: 422 Unknown key id (kid), not 503; the good EC key passes', async () => {
    start();
    expectResponse(await me(idpToken('ES256', testKey('p256b').privateKey, { kid: 'offcurve' })), 422, { msg: 'Unknown key id (kid)' });
    expectResponse(await me(idpToken('ES256', testKey('p256').privateKey, { kid: 'ec' })), 200, { identity: 'alice' });
  });

  it('a token naming the symmetric member: 422, never verified with its k', async () => {
    start({ algorithms: ['RS256', 'ES256'] });
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'oct' })), 422, { msg: 'Unknown key id (kid)' });
  });

  it('one warning names the three bad members (not the encryption keys); a refetch of the same set says nothing new; a new bad member is reported', async () => {
    start({ jwksCooldown: '1s' });
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
    assert.equal((await warned()).length, 1, warnings.join('\n'));
    assert.match(warnings[0], /^The key set http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json holds 3 keys never trusted \(kid "private": a private key is never trusted from a JWK Set; kid "offcurve": its point is not on P-256; kid "oct": a symmetric key \(kty oct\) is never published in a JWK Set\); tokens naming them are refused like tokens naming no key \(422\)$/);
    await sleep(1100);
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'rotated' })), 422, { msg: 'Unknown key id (kid)' });
    assert.equal(jwks.fetches, 2);
    assert.equal((await warned()).length, 1, warnings.join('\n'));
    jwks.publishJwks([...GOOD_MEMBERS, BAD_MEMBERS[0]]);
    await sleep(1100);
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'rotated' })), 422, { msg: 'Unknown key id (kid)' });
    assert.equal((await warned()).length, 2, warnings.join('\n'));
    assert.match(warnings[1], /holds a key never trusted \(kid "private": .*\); tokens naming it are refused/);
  });

  it("a kid with control characters is shown escaped in the warning", async () => {
    jwks.publishJwks([...GOOD_MEMBERS, { ...BAD_MEMBERS[0], kid: 'a\r\nb"c' }]);
    start();
    expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
    assert.match((await warned())[0], /kid "a\\r\\nb\\"c": a private key/);
  });

  describe('which errors are an outage', () => {
    let jose: typeof import('jose', { with: { 'resolution-mode': 'import' } });
    before(async () => {
      jose = await import('jose');
    });

    it("only our fetch's own failures and jose's timeout become 503 Key set unavailable", () => {
      const fetchFailure = new TypeError('fetch failed');
      assert.ok(keyLookupRefusal(fetchFailure, true) instanceof KeySetUnavailableError);
      assert.ok(keyLookupRefusal(new jose.errors.JWKSTimeout(), false) instanceof KeySetUnavailableError);
    });

    it("every other error class of jose, and a WebCrypto import error, is a 422 about the token", () => {
      const classes = Object.entries(jose.errors).filter(([name]) => name !== 'JWKSTimeout') as [string, new (message?: string) => Error][];
      assert.ok(classes.length >= 14, `${classes.length} error classes`);
      for (const [name, ErrorClass] of classes) {
        const refusal = keyLookupRefusal(new ErrorClass('x'), false);
        assert.equal(refusal.status, 422, name);
      }
      const dataError = new DOMException('Invalid keyData', 'DataError');
      assert.deepEqual([keyLookupRefusal(dataError, false).status, keyLookupRefusal(dataError, false).message], [422, 'Unknown key id (kid)']);
      assert.equal(keyLookupRefusal(new jose.errors.JOSENotSupported('x'), false).message, 'The specified alg value is not allowed');
      assert.equal(keyLookupRefusal(new jose.errors.JWKSNoMatchingKey(), false).message, 'Unknown key id (kid)');
      assert.equal(keyLookupRefusal(new jose.errors.JWKSMultipleMatchingKeys(), false).message, 'Several keys match this token: it needs a key id (kid)');
    });
  });
});
