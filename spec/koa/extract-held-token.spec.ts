/**
 * The header hot path skips its scan for white space and commas when the verifier holds the token
 * verified (`TokenVerifier.holdsVerified`). That is sound only if no token the verifier ever held can
 * contain one, and only if "held" means this very token, not one sharing its cache key: both are
 * checked here, from the attacker's side too (a held token's signature end spliced behind junk with
 * a space, white space inserted anywhere in a held token), and through a real server.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { Context } from 'koa';
import request from 'supertest';
import { createKoaServer, Get, JsonController } from 'routing-controllers';
import { Identity, JwtManager, JwtRequired } from '../../src';
import { extractToken, tokenFromHeader } from '../../src/koa/extract';
import { fakeAccessToken, tamperToken } from '../../src/testing';
import { expectResponse } from '../support/assert-response';
import { prng } from '../support/prng';

const SECRET = 'held-token-spec-secret-of-at-least-32-bytes';

/** Every character `\s` matches that a header value or a token could carry, and the comma. */
const INSERTED = [' ', '\t', '\n', '\v', '\f', '\r', ',', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];

@JsonController('/held')
class HeldController {
  @Get('/me')
  @JwtRequired()
  me(@Identity() who: string) {
    return { hello: who };
  }
}

function headerOutcome(authorization: string, withVerifier: boolean): string {
  const { config, verifier } = JwtManager.instance;
  const ctx = { req: { headers: { authorization } }, method: 'GET' } as unknown as Context;
  try {
    return `token ${JSON.stringify(extractToken(ctx, config, ['headers'], 'access', undefined, withVerifier ? verifier : undefined).token)}`;
  } catch (error) {
    const { name, code, message } = error as Error & { code?: string };
    return `${name} ${code} ${message}`;
  }
}

/** What the full parse answers for the header (no hot path, no verifier). */
function fullParse(authorization: string): string {
  try {
    return `token ${JSON.stringify(tokenFromHeader(authorization, JwtManager.instance.config))}`;
  } catch (error) {
    const { name, code, message } = error as Error & { code?: string };
    return `${name} ${name === 'NoAuthorizationError' ? 'ERR_JWT_MISSING' : code} ${message}`;
  }
}

describe('koa: a token the verifier holds skips the header scan, and nothing else', () => {
  let held: string;
  let other: string;

  beforeEach(async () => {
    JwtManager.configure({ secret: SECRET });
    held = await fakeAccessToken('alice');
    other = await fakeAccessToken('bob');
    JwtManager.instance.verifier.verifyNow(held); // now in the verified-token cache
  });
  afterEach(() => JwtManager.reset());

  it('holds exactly the tokens it verified', () => {
    const { verifier } = JwtManager.instance;
    assert.equal(verifier.holdsVerified(held), true);
    assert.equal(verifier.holdsVerified(other), false, 'never verified');
    assert.equal(verifier.holdsVerified(`${held}x`), false);
    assert.equal(verifier.holdsVerified(` ${held}`), false);
    assert.equal(verifier.holdsVerified(undefined as unknown as string), false, 'not a string: no TypeError');
  });

  it('a token with white space or a comma anywhere never verifies, so it is never held', () => {
    const { verifier } = JwtManager.instance;
    let tried = 0;
    for (let at = 0; at <= held.length; at += 1) {
      for (const character of INSERTED) {
        for (const changed of [held.slice(0, at) + character + held.slice(at), held.slice(0, at) + character + held.slice(at + 1)]) {
          if (changed === held) continue;
          assert.throws(() => verifier.verifyNow(changed), `verified with ${JSON.stringify(character)} at ${at}`);
          assert.equal(verifier.holdsVerified(changed), false);
          tried += 1;
        }
      }
    }
    assert.ok(tried > 2 * INSERTED.length * held.length, `${tried} variants`);
  });

  it('junk with a space that ends in a held token\'s cache key is scanned and refused as a bad header', () => {
    // the cache key is a hash of the token's last characters: this shares it with `held`
    const spliced = `abc def.${held.slice(-20)}`;
    const expected = "InvalidTokenError ERR_JWT_BAD_HEADER Bad Authorization header. Expected 'Authorization: Bearer <JWT>'";
    assert.equal(fullParse(`Bearer ${spliced}`), expected);
    assert.equal(headerOutcome(`Bearer ${spliced}`, true), expected);
    assert.equal(JwtManager.instance.verifier.holdsVerified(spliced), false);
  });

  it('answers what the full parse answers, held token or not, on 3 000 random headers', () => {
    const random = prng(2027);
    const pieces = ['Bearer', 'bearer', ' ', '  ', '\t', ',', ', ', held, held.slice(0, 30), held.slice(-20), other, 'x', '\u00a0'];
    for (let i = 0; i < 3_000; i += 1) {
      const length = 1 + Math.floor(random() * 4);
      let value = i % 3 === 0 ? 'Bearer ' : '';
      for (let j = 0; j < length; j += 1) value += pieces[Math.floor(random() * pieces.length)];
      const expected = fullParse(value);
      assert.equal(headerOutcome(value, true), expected, JSON.stringify(value));
      assert.equal(headerOutcome(value, false), expected, JSON.stringify(value));
    }
  });

  it('the entry kept for the next verifyNow() serves only that token', () => {
    const { verifier } = JwtManager.instance;
    assert.equal(verifier.holdsVerified(held), true);
    // another token verified next gets its own verification, not the kept entry
    assert.equal(verifier.verify(other).sub, 'bob');
    assert.equal(verifier.holdsVerified(held), true);
    assert.throws(() => verifier.verifyNow(tamperToken(held)), /Signature verification failed/);
    assert.equal(verifier.holdsVerified(held), true);
    assert.equal(verifier.verify(held).sub, 'alice');
    // an empty token is refused with an entry kept; the held token is served after
    assert.equal(verifier.holdsVerified(held), true);
    assert.throws(() => verifier.verifyNow(''), /non-empty string/);
    assert.equal(verifier.verify(held).sub, 'alice');
  });

  it('a held token is still refused once it expires (the kept entry re-runs the time checks)', async () => {
    const short = await fakeAccessToken('carol', { expiresIn: 5 });
    const { verifier } = JwtManager.instance;
    verifier.verifyNow(short);
    assert.equal(verifier.holdsVerified(short), true);
    const realNow = Date.now;
    Date.now = () => realNow() + 6_000;
    try {
      assert.throws(() => verifier.verifyNow(short), /Token has expired/);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('koa: the held-token shortcut over HTTP', () => {
  let server: Server;
  let held: string;
  const me = (authorization: string) => request(server).get('/held/me').set('Authorization', authorization);

  beforeEach(async () => {
    JwtManager.configure({ secret: SECRET });
    server = createKoaServer({ controllers: [HeldController] }).listen(0);
    held = await fakeAccessToken('alice');
    expectResponse(await me(`Bearer ${held}`), 200, { hello: 'alice' }); // held from here on
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  it('the held token passes again; the same token with a space, a tab or a comma inside is a bad header', async () => {
    expectResponse(await me(`Bearer ${held}`), 200, { hello: 'alice' });
    const bad = { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" };
    for (const character of [' ', '\t', ',', '\u00a0']) {
      const at = 40;
      const res = await me(`Bearer ${held.slice(0, at)}${character}${held.slice(at)}`);
      // a comma splits the header into fields: the token is the "Bearer <first 40 characters>" field's
      expectResponse(res, 422, character === ',' ? { msg: 'Not enough segments' } : bad);
    }
  });

  it('junk with a space ending in the held token\'s last characters is a bad header, not a signature check', async () => {
    expectResponse(await me(`Bearer abc def.${held.slice(-20)}`), 422, { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" });
  });

  it('white space and one layer of commas around a held token are trimmed as before', async () => {
    expectResponse(await me(`Bearer ${held},`), 200, { hello: 'alice' });
    expectResponse(await me(`Bearer\t${held}`), 200, { hello: 'alice' });
  });
});
