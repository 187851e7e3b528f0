/**
 * A token segment is base64url's alphabet only: jws.ts checks it without a regular expression
 * (it leans on what Node's base64url decoder does with other characters). Pinned here against the
 * regular expression it replaced, on the running Node: every character up to U+07FF and every BMP
 * character whose low byte is in the alphabet (the decoder may read a wide character by it),
 * inserted and substituted at the start and the end of segments of each length class, refuses as
 * 'Invalid signature padding' exactly when `^[A-Za-z0-9_-]+$` (and a length other than 4n+1) does.
 */
import assert from 'node:assert/strict';
import { InvalidTokenError } from '../../src/core/errors';
import { parseCompactToken } from '../../src/core/jws';

const ALPHABET = /^[A-Za-z0-9_-]+$/;
const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
const PAYLOAD = Buffer.from('{"sub":"x"}').toString('base64url');

/** Whether the segment, as a token's signature, is refused for its alphabet or length. */
function refusedAsPadding(signature: string): boolean {
  try {
    parseCompactToken(`${HEADER}.${PAYLOAD}.${signature}`, 1 << 20);
    return false;
  } catch (error) {
    assert.ok(error instanceof InvalidTokenError);
    return error.message === 'Invalid signature padding';
  }
}

describe('jws: the base64url alphabet check', () => {
  // lengths 4n, 4n+2, 4n+3 (4n+1 is refused whatever it holds)
  const BASES = ['AAAA', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAA'];

  const CODES: number[] = [];
  for (let code = 0; code <= 0xffff; code++) {
    if (code === 0x2e) continue; // '.' splits the token: 'Too many segments'
    if (code <= 0x7ff || ALPHABET.test(String.fromCharCode(code & 0xff))) CODES.push(code);
  }

  it('every character up to U+07FF and every one whose low byte is base64url, at the start and the end, inserted or substituted', function () {
    this.timeout(120_000);
    let mismatches = 0;
    for (const base of BASES) {
      for (const at of [0, base.length]) {
        for (const code of CODES) {
          const character = String.fromCharCode(code);
          for (const segment of [base.slice(0, at) + character + base.slice(at), base.slice(0, at) + character + base.slice(at + 1)]) {
            const expected = !(ALPHABET.test(segment) && segment.length % 4 !== 1);
            if (refusedAsPadding(segment) !== expected && mismatches++ < 5) assert.fail(`segment ${JSON.stringify(segment)} (U+${code.toString(16)}): expected refused=${expected}`);
          }
        }
      }
    }
    assert.equal(mismatches, 0);
  });

  it('padding, white space, two stray characters, astral characters, lone surrogates', () => {
    for (const segment of ['AA==', 'AAA=', 'AA AA', 'AA\nAA', 'A=AA', '=AAA', 'AA+/', 'A+A/AA', 'AA\u{1F600}AA', 'AA\ud800AA', 'AAAA\u00ff', 'AAAA\u0141']) {
      assert.equal(refusedAsPadding(segment), true, JSON.stringify(segment));
    }
    assert.equal(refusedAsPadding('AAAAAA'), false); // the allowed one beside them
  });
});
