/**
 * Public keys that verify forged signatures without a private key (RSA e = 1, small or
 * even e; Ed25519 points of small order, all 14 encodings) are refused wherever a key is
 * parsed: a `configure()` problem listed with the others, a `decodeKeyLoader` answer that
 * is 422 over HTTP, a member of a JWK Set that is never trusted (a token naming it is 422,
 * like a token naming no key; the set's good keys keep verifying). Each forged token is a true forgery (node's own verify accepts it) and
 * sits beside a legit token that passes.
 */
import assert from 'node:assert/strict';
import { createPublicKey, KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { JwtManager, JwtOptions } from '../../src';
import { expectResponse } from '../support/assert-response';
import { idpClaims, idpToken, serveIdpApp } from '../support/idp-app';
import { JwksServer } from '../support/jwks-server';
import { testKey } from '../support/keys';
import {
  ED25519_SMALL_ORDER, exponentOneJwk, forgeForExponentOne, forgeForSmallOrder, nodeAcceptsSmallOrderForgery, rsaWithExponent,
} from '../support/weak-keys';
import { problemsOf, assertListed } from '../support/config-problems';



const EXPONENT = /publicKey is refused: its RSA public exponent is .*: it must be odd, at least 65537 and below 2\^256 \(NIST SP 800-56B\)/;
const SMALL_ORDER = /publicKey is refused: its Ed25519 public key is a point of small order/;
const three = rsaWithExponent(3);
const seventeen = rsaWithExponent(17);

describe('idp: weak public keys are refused at configure() and from decodeKeyLoader', () => {
  afterEach(() => JwtManager.reset());

  describe('configure()', () => {
    it('an RSA JWK with e = 1: a problem listed with the others; the same modulus with e = 65537 is accepted', () => {
      const weak = exponentOneJwk();
      const problems = problemsOf({ algorithm: 'RS256', publicKey: weak, accessTokenExpires: 'soon' });
      assertListed(problems, EXPONENT);
      assertListed(problems, /accessTokenExpires/);
      assert.doesNotThrow(() => JwtManager.configure({ algorithm: 'RS256', publicKey: testKey('rsaA').publicKey.export({ format: 'jwk' }) }));
    });

    for (const [name, publicKey] of [
      ['e = 3 (PEM)', three.publicKey.export({ type: 'spki', format: 'pem' })],
      ['e = 17 (KeyObject)', seventeen.publicKey],
      ['e = 65536, even (JWK)', { ...exponentOneJwk(), e: Buffer.from([1, 0, 0]).toString('base64url') }],
      ['e = 2^256 + 1 (JWK)', { ...exponentOneJwk(), e: Buffer.concat([Buffer.from([1]), Buffer.alloc(31), Buffer.from([1])]).toString('base64url') }],
      ['e = 1 as a KeyObject', createPublicKey({ key: exponentOneJwk(), format: 'jwk' })],
    ] as const) {
      it(`an RSA public key with ${name}: refused`, () => {
        assertListed(problemsOf({ algorithm: 'RS256', publicKey }), EXPONENT);
      });
    }

    it('an RSA key pair with e = 3: refused as privateKey too (its public half verifies)', () => {
      assertListed(problemsOf({ algorithm: 'RS256', privateKey: three.privateKey }), /privateKey is refused: its RSA public exponent is 3/);
    });

    it('a verificationKeys entry with e = 1: refused under its label', () => {
      const problems = problemsOf({ algorithm: 'RS256', privateKey: testKey('rsaA').privateKey, verificationKeys: [{ kid: 'old', publicKey: exponentOneJwk() }] });
      assertListed(problems, /^verificationKeys\[0\]\.publicKey is refused: its RSA public exponent is 1/);
    });

    for (const [index, x] of ED25519_SMALL_ORDER.entries()) {
      it(`EdDSA with the small-order Ed25519 key ${Buffer.from(x, 'base64url').toString('hex').slice(0, 8)}... (${index + 1} of 14): refused`, () => {
        assertListed(problemsOf({ algorithm: 'EdDSA', publicKey: { kty: 'OKP', crv: 'Ed25519', x } }), SMALL_ORDER);
      });
    }

    it("the premise: node 20 and 22's own crypto.verify accept a forgery from each of the 14 small-order keys (node 24's refuses them)", function () {
      const accepted = ED25519_SMALL_ORDER.filter(nodeAcceptsSmallOrderForgery).length;
      console.log(`      ${process.version}: crypto.verify accepts a forgery from ${accepted} of the 14 small-order keys`);
      if (Number(process.versions.node.split('.')[0]) >= 24) this.skip(); // node 24 refuses them itself: nothing to pin
      assert.equal(accepted, 14);
    });

    it('EdDSA with a real Ed25519 key, as JWK, PEM and KeyObject: accepted', () => {
      const { publicKey } = testKey('ed25519');
      for (const form of [publicKey.export({ format: 'jwk' }), testKey('ed25519').publicPem, publicKey]) {
        assert.doesNotThrow(() => JwtManager.configure({ algorithm: 'EdDSA', publicKey: form as KeyObject }));
      }
    });
  });

  describe('decodeKeyLoader, over HTTP', () => {
    let server: Server | undefined;
    afterEach(() => server?.close());
    const me = (token: string) => request(server!).get('/me').set('Authorization', `Bearer ${token}`);
    const start = (options: Partial<JwtOptions>) => (server = serveIdpApp({ acceptUntypedTokens: true, ...options } as JwtOptions));

    it('RS256: a token forged for an e = 1 key the loader answers is 422; a legit key from the same loader passes', async () => {
      const weak = exponentOneJwk();
      start({ algorithm: 'RS256', decodeKeyLoader: (header) => (header.kid === 'weak' ? weak : testKey('rsaA').publicKey.export({ format: 'jwk' })) });
      expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
      const forged = forgeForExponentOne({ alg: 'RS256', typ: 'at+jwt', kid: 'weak' }, idpClaims({ sub: 'admin' }));
      expectResponse(await me(forged), 422, { msg: 'The specified alg value is not allowed' });
      expectResponse(await me(forged), 422, { msg: 'The specified alg value is not allowed' }); // the refusal is cached, and stays one
    });

    it('RS256: a token signed by the private half of an e = 3 pair the loader answers: 422', async () => {
      start({ algorithm: 'RS256', decodeKeyLoader: () => three.publicKey.export({ type: 'spki', format: 'pem' }) });
      expectResponse(await me(idpToken('RS256', three.privateKey)), 422, { msg: 'The specified alg value is not allowed' });
    });

    it('EdDSA: a token forged for each of the 14 small-order keys is 422; a real key from the same loader passes', async () => {
      start({ algorithm: 'EdDSA', decodeKeyLoader: (header) => ({ kty: 'OKP', crv: 'Ed25519', x: header.kid === 'good' ? testKey('ed25519').publicKey.export({ format: 'jwk' }).x : String(header.kid) }) });
      expectResponse(await me(idpToken('EdDSA', testKey('ed25519').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
      for (const x of ED25519_SMALL_ORDER) {
        const forged = forgeForSmallOrder(x, { alg: 'EdDSA', typ: 'at+jwt', kid: x }, idpClaims({ sub: 'admin' }));
        const response = await me(forged);
        assert.deepEqual([response.status, response.body], [422, { msg: 'The specified alg value is not allowed' }], x);
      }
    });
  });

  describe('jwksUri, over HTTP', () => {
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
    });
    afterEach(async () => {
      process.off('warning', onWarning);
      server?.close();
      await jwks.stop();
    });
    const me = (token: string) => request(server!).get('/me').set('Authorization', `Bearer ${token}`);
    const jwk = (key: KeyObject, extra: Record<string, unknown>) => ({ ...key.export({ format: 'jwk' }), use: 'sig', ...extra });

    it('RS256: tokens forged for an e = 1 member, or signed for an e = 3 member, are 422 Unknown key id; the good member passes; one warning names them', async () => {
      jwks.publishJwks([
        jwk(testKey('rsaA').publicKey, { kid: 'good', alg: 'RS256' }),
        { ...exponentOneJwk(), kid: 'weird', alg: 'RS256', use: 'sig' },
        jwk(three.publicKey, { kid: 'three', alg: 'RS256' }),
      ]);
      server = serveIdpApp({ algorithms: ['RS256'], jwksUri: jwks.url, acceptUntypedTokens: true });
      expectResponse(await me(idpToken('RS256', testKey('rsaA').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
      expectResponse(await me(forgeForExponentOne({ alg: 'RS256', typ: 'at+jwt', kid: 'weird' }, idpClaims({ sub: 'admin' }))), 422, { msg: 'Unknown key id (kid)' });
      expectResponse(await me(idpToken('RS256', three.privateKey, { kid: 'three' })), 422, { msg: 'Unknown key id (kid)' });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /holds 2 keys never trusted \(kid "weird": its RSA public exponent is 1: .*; kid "three": its RSA public exponent is 3: /);
    });

    it('EdDSA: tokens forged for each of the 14 small-order members are 422 Unknown key id; the good member passes', async () => {
      jwks.publishJwks([
        jwk(testKey('ed25519').publicKey, { kid: 'good', alg: 'EdDSA' }),
        ...ED25519_SMALL_ORDER.map((x, index) => ({ kty: 'OKP', crv: 'Ed25519', x, kid: `small-${index}`, alg: 'EdDSA', use: 'sig' })),
      ]);
      server = serveIdpApp({ algorithms: ['EdDSA'], jwksUri: jwks.url, acceptUntypedTokens: true });
      expectResponse(await me(idpToken('EdDSA', testKey('ed25519').privateKey, { kid: 'good' })), 200, { identity: 'alice' });
      for (const [index, x] of ED25519_SMALL_ORDER.entries()) {
        const response = await me(forgeForSmallOrder(x, { alg: 'EdDSA', typ: 'at+jwt', kid: `small-${index}` }, idpClaims({ sub: 'admin' })));
        assert.deepEqual([response.status, response.body], [422, { msg: 'Unknown key id (kid)' }], `small-${index}`);
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.match(warnings.join('\n'), /holds 14 keys never trusted \(kid "small-0": its Ed25519 public key is a point of small order/);
    });
  });
});
