/** src/core/dpop without Koa: htu normalisation, RFC 7638 thumbprints, nonces, the memory replay cache's bounds. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { htuMatches, normaliseHtu, normaliseOrigin } from '../../../src/core/dpop/htu';
import { jwkThumbprint } from '../../../src/core/dpop/jwk';
import { NonceIssuer } from '../../../src/core/dpop/nonce';
import { MemoryReplayCache } from '../../../src/core/dpop/replay';
import { loadJose } from '../../support/app';

describe('core/dpop', () => {
  describe('htu (RFC 3986 §6.2.2, §6.2.3)', () => {
    const same: [string, string][] = [
      ['https://h:443/x', 'https://h/x'],
      ['http://h:80/x', 'http://h/x'],
      ['HTTPS://H.Example.COM/x', 'https://h.example.com/x'],
      ['https://h', 'https://h/'],
      ['https://h/a/./b/../c', 'https://h/a/c'],
      ['https://h/%7Euser', 'https://h/~user'],
      ['https://h/a%2fb', 'https://h/a%2Fb'],
      ['https://h/x?q=1#frag', 'https://h/x'],
    ];
    for (const [a, b] of same) it(`${a} = ${b}`, () => assert.equal(normaliseHtu(a), normaliseHtu(b)));
    const different: [string, string][] = [
      ['https://h/x', 'http://h/x'],
      ['https://h:8443/x', 'https://h/x'],
      ['https://h/X', 'https://h/x'],
      ['https://h/a%2Fb', 'https://h/a/b'],
      ['https://h/x/', 'https://h/x'],
    ];
    for (const [a, b] of different) it(`${a} ≠ ${b}`, () => assert.notEqual(normaliseHtu(a), normaliseHtu(b)));
    it('refuses what is not an absolute http(s) URI, or carries userinfo', () => {
      for (const bad of ['/x', 'ftp://h/x', 'javascript:alert(1)', 'https://u:p@h/x', 'https://', '']) assert.equal(normaliseHtu(bad), undefined, bad);
      assert.equal(htuMatches('https://u@h/x', 'https://h/x'), false);
    });
    it('origins: scheme and host only', () => {
      assert.equal(normaliseOrigin('https://API.example.com:443/'), 'https://api.example.com');
      for (const bad of ['https://h/base', 'https://h?x', 'https://h#f', 'h.example.com', 'ws://h']) assert.equal(normaliseOrigin(bad), undefined, bad);
    });
  });

  describe('RFC 7638 thumbprints', () => {
    it("RFC 7638 §3.1's example", () => {
      const jwk = {
        kty: 'RSA', e: 'AQAB', alg: 'RS256', kid: '2011-04-29',
        n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      };
      assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    });
    it("equals jose's calculateJwkThumbprint for EC, OKP and RSA keys", async () => {
      const jose = await loadJose();
      for (const pair of [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('ed25519'), generateKeyPairSync('rsa', { modulusLength: 2048 })]) {
        const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
        assert.equal(jwkThumbprint(jwk), await jose.calculateJwkThumbprint(jwk as never));
      }
    });
  });

  describe('nonces', () => {
    const key = Buffer.alloc(32, 7);
    it('current in its window, previous in the next, invalid after, and never for another key', () => {
      const issuer = new NonceIssuer(key, 60_000);
      const t = 1_800_000_000_000;
      const nonce = issuer.current(t);
      assert.equal(issuer.standing(nonce, t + 59_999 - (t % 60_000)), 'current');
      assert.equal(issuer.standing(nonce, t + 60_000), 'previous');
      assert.equal(issuer.standing(nonce, t + 120_000), 'invalid');
      assert.equal(new NonceIssuer(Buffer.alloc(32, 8), 60_000).standing(nonce, t), 'invalid');
      assert.equal(new NonceIssuer(key, 60_000).standing(nonce, t), 'current', 'another instance with the key');
      for (const junk of [undefined, 7, '', 'x'.repeat(30), `${nonce.slice(0, -1)}A`]) assert.equal(issuer.standing(junk, t + 60_000), 'invalid');
    });
  });

  describe('the memory replay cache: bounded, refusing rather than forgetting', () => {
    const entry = (group: string, key: string, expiresAt: number, maxPerGroup = 3) => ({ group, key, expiresAt, maxPerGroup });
    it('a live jti is seen; an expired one may be used again', () => {
      const cache = new MemoryReplayCache();
      assert.equal(cache.rememberOnce(entry('k', 'a', 2000), 1000), 'new');
      assert.equal(cache.rememberOnce(entry('k', 'a', 2000), 1999), 'seen');
      assert.equal(cache.rememberOnce(entry('k', 'a', 3000), 2000), 'new');
    });
    it('a full key refuses the next proof and still remembers the oldest one', () => {
      const cache = new MemoryReplayCache();
      for (const jti of ['a', 'b', 'c']) assert.equal(cache.rememberOnce(entry('k', jti, 5000), 1000), 'new');
      assert.equal(cache.rememberOnce(entry('k', 'd', 5000), 1000), 'full');
      assert.equal(cache.rememberOnce(entry('k', 'a', 5000), 1000), 'seen', 'the oldest record was not dropped');
      assert.equal(cache.rememberOnce(entry('other', 'a', 5000), 1000), 'new', 'another key is not affected');
      assert.equal(cache.rememberOnce(entry('k', 'd', 9000), 5000), 'new', 'once they expire, room again');
    });
    it('a full cache answers unavailable (503) and forgets nothing; expired records make room', () => {
      const cache = new MemoryReplayCache(4);
      for (let i = 0; i < 4; i++) assert.equal(cache.rememberOnce(entry(`k${i}`, 'a', 5000), 1000), 'new');
      assert.equal(cache.rememberOnce(entry('k9', 'a', 5000), 1000), 'unavailable');
      for (let i = 0; i < 4; i++) assert.equal(cache.rememberOnce(entry(`k${i}`, 'a', 5000), 1000), 'seen');
      assert.equal(cache.rememberOnce(entry('k9', 'a', 9000), 6000), 'new');
      assert.equal(cache.entries, 1);
    });
  });
});
