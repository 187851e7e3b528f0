/**
 * Canonical signatures (DESIGN.md 0.2 A): base64url has one spelling per value
 * (RFC 7515, RFC 4648 §3.5). A signature segment whose last character differs only
 * in the unused low bits decodes to the same bytes; it is refused as a bad
 * signature, so no one can mint a second token string for a signed token.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { createAccessToken, JwtManager, JwtOptions } from '../../src';
import { expectResponse } from '../support/assert-response';
import { listenTestApp } from '../support/app';
import { b64url, hmac, HS256_HEADER, payload } from '../support/forge';
import { keyFor } from '../support/keys';
import { SECRET } from '../support/server';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HMAC_SECRET = 'a-64-byte-secret-for-hs512-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Every other spelling of a base64url segment: its last character with other unused low bits. */
function respellings(segment: string): string[] {
  const unused = [0, 0, 0b1111, 0b11][segment.length % 4];
  const last = ALPHABET.indexOf(segment[segment.length - 1]);
  const spellings: string[] = [];
  for (let bits = 1; bits <= unused; bits++) spellings.push(segment.slice(0, -1) + ALPHABET[last | bits]);
  return spellings;
}

/** The token with its signature segment replaced. */
function withSignature(token: string, signature: string): string {
  return `${token.slice(0, token.lastIndexOf('.'))}.${signature}`;
}

const SIGNATURE_FAILED = { msg: 'Signature verification failed' };

/** The algorithms whose signature length leaves unused bits (HS384 and ES384/ES512 fill every bit: one spelling only). */
const SETUPS: [string, () => Partial<JwtOptions>][] = [
  ['HS256', () => ({ algorithm: 'HS256', secret: HMAC_SECRET })],
  ['HS512', () => ({ algorithm: 'HS512', secret: HMAC_SECRET })],
  ['RS256', () => ({ algorithm: 'RS256', privateKey: keyFor('RS256').privatePem })],
  ['PS256', () => ({ algorithm: 'PS256', privateKey: keyFor('PS256').privatePem })],
  ['ES256', () => ({ algorithm: 'ES256', privateKey: keyFor('ES256').privatePem })],
];

describe('koa: signatures must be spelled canonically', () => {
  let server: Server;
  before(() => { server = listenTestApp(); });
  after(() => server.close());
  afterEach(() => JwtManager.reset());

  const me = (token: string) => request(server).get('/me').set('Authorization', `Bearer ${token}`);

  for (const [algorithm, options] of SETUPS) {
    describe(algorithm, () => {
      let original: string;
      let respelled: string[];
      beforeEach(async () => {
        JwtManager.configure(options() as JwtOptions);
        original = await createAccessToken('alice');
        const signature = original.slice(original.lastIndexOf('.') + 1);
        respelled = respellings(signature).map((spelling) => withSignature(original, spelling));
      });

      it('the token as issued passes: 200', async () => {
        expectResponse(await me(original), 200, { identity: 'alice' });
      });

      it('every respelling decodes to the same signature bytes (what a decoder alone would accept)', () => {
        const bytes = (token: string) => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
        assert.ok(respelled.length >= 3, `${respelled.length} respellings`);
        for (const token of respelled) assert.deepEqual(bytes(token), bytes(original));
      });

      it('every respelled signature is refused, even after the original was verified and cached: 422 Signature verification failed', async () => {
        expectResponse(await me(original), 200, { identity: 'alice' });
        for (const token of respelled) expectResponse(await me(token), 422, SIGNATURE_FAILED);
      });

      it('decodeToken() refuses a respelled signature too', async () => {
        await assert.rejects(JwtManager.instance.decodeToken(respelled[0]), { name: 'InvalidTokenError', code: 'ERR_JWT_SIGNATURE', message: 'Signature verification failed' });
      });
    });
  }

  describe('header and payload segments (covered by the signature as written)', () => {
    beforeEach(() => JwtManager.configure({ secret: SECRET }));

    /** A payload segment with unused low bits set, so it has a canonical twin. */
    function respelledPayload(): { canonical: string; respelled: string } {
      for (let pad = 0; ; pad++) {
        const canonical = b64url(JSON.stringify(payload({ pad: 'x'.repeat(pad) })));
        const spellings = respellings(canonical);
        if (spellings.length > 0) return { canonical, respelled: spellings[0] };
      }
    }

    it('a respelled payload signed as written by the key holder passes: 200', async () => {
      const input = `${b64url(JSON.stringify(HS256_HEADER))}.${respelledPayload().respelled}`;
      expectResponse(await me(`${input}.${hmac(input)}`), 200, { identity: 'alice' });
    });

    it("a payload respelled under someone else's signature is refused: 422 Signature verification failed", async () => {
      const { canonical, respelled } = respelledPayload();
      const header = b64url(JSON.stringify(HS256_HEADER));
      const signature = hmac(`${header}.${canonical}`);
      expectResponse(await me(`${header}.${canonical}.${signature}`), 200, { identity: 'alice' });
      expectResponse(await me(`${header}.${respelled}.${signature}`), 422, SIGNATURE_FAILED);
    });
  });
});
