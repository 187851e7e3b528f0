import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import request from 'supertest';
import { Get, JsonController } from 'routing-controllers';
import { JwtRequired, MemoryTokenStore } from '../../src';
import { b64url, forgeRaw, HS256_HEADER } from '../support/forge';
import { serve, stop } from '../support/server';

@JsonController('/h')
class HostileController {
  @Get('/me')
  @JwtRequired()
  me() {
    return { ok: true };
  }
}

/** Deterministic pseudo-random bytes, so a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A header value Node will send: latin1 text without control characters (tab allowed). */
function headerSafe(bytes: Buffer): string {
  return [...bytes].map((b) => (b < 0x20 && b !== 0x09) || b === 0x7f ? String.fromCharCode(0x20 + (b % 0x5f)) : String.fromCharCode(b)).join('');
}

/** UTF-8 text sent byte for byte (Node's client writes header strings as latin1). */
const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

function hostileHeaders(): string[] {
  const random = prng(0x5eed);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const headers: string[] = [];
  for (let i = 0; i < 40; i++) headers.push(headerSafe(bytes(1 + Math.floor(random() * 300))));
  for (let i = 0; i < 20; i++) headers.push(`Bearer ${headerSafe(bytes(1 + Math.floor(random() * 200)))}`);
  headers.push(
    `Bearer ${'a'.repeat(12000)}`,
    `Bearer ${'a.'.repeat(5000)}`,
    `Bearer ${'.'.repeat(3)}`,
    `Bearer ${'.'.repeat(5000)}`,
    'Bearer ' + 'x'.repeat(8190) + '.y.z',
    utf8('Bearer 日本語.トークン.署名'),
    utf8('Bearer 🔑.🔑.🔑'),
    utf8('Ｂｅａｒｅｒ abc.def.ghi'),
    utf8(`Bearer ${b64url('{"alg":"HS256"}')}.${b64url('{"sub":"é"}')}.💥`),
    'Bearer \u00ff\u00fe.\u00fd.\u00fc',
    'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0',
    'Bearer eyJ.eyJ.eyJ',
    'Bearer =.=.=',
    'Bearer %00.%00.%00',
    `Bearer ${forgeRaw(JSON.stringify(HS256_HEADER), '{"sub":"a","type":"access","jti":"j","exp":1e999999}')}`,
    `Bearer ${forgeRaw(JSON.stringify(HS256_HEADER), '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}')}`,
    `Bearer ${forgeRaw('{"alg":"HS256","kid":{"toString":1}}', '{}')}`,
    `Bearer ${forgeRaw('{"alg":"HS256","kid":"../../etc/passwd"}', '{}')}`,
    `Bearer ${forgeRaw('{"alg":"HS256","jku":"http://evil.example/jwks"}', '{}')}`,
    `Bearer ${forgeRaw('{"alg":["HS256"]}', '{}')}`,
    `Bearer ${forgeRaw('{"alg":"HS256","crit":[]}', '{}')}`,
    `Bearer ${forgeRaw(JSON.stringify(HS256_HEADER), JSON.stringify({ sub: 'a', type: 'access', jti: 'j', exp: 4e9, nbf: -1e308, iat: 1e308 }))}`,
    `Bearer ${forgeRaw(JSON.stringify(HS256_HEADER), '[' .repeat(3000) + ']'.repeat(3000))}`,
    'Bearer, Bearer, Bearer',
    ',,,,',
    'Bearer\tabc.def.ghi\tjkl',
    'Basic, Bearer',
    `Bearer ${'A'.repeat(8193)}`,
  );
  return headers;
}

/** No input may produce a 500: every hostile Authorization header gets a JSON 401 or 422. */
describe('koa: hostile Authorization headers', () => {
  let server: Server;
  beforeEach(() => { server = serve([HostileController], { revocation: { store: new MemoryTokenStore(), checks: 'all' } }); });
  afterEach(() => stop(server));

  it('every hostile header is answered 401 or 422 with a JSON message', async () => {
    const failures: string[] = [];
    for (const header of hostileHeaders()) {
      const res = await request(server).get('/h/me').set('Authorization', header);
      const ok = (res.status === 401 || res.status === 422) && /json/.test(res.type) && typeof res.body?.msg === 'string';
      if (!ok) failures.push(`${JSON.stringify(header.slice(0, 60))}... -> ${res.status} ${res.text.slice(0, 100)}`);
    }
    assert.deepEqual(failures, []);
  });

  it('the server still answers normally afterwards', async () => {
    const res = await request(server).get('/h/me');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Missing Authorization Header' });
  });
});
