/**
 * Property-style fuzzing over real HTTP: hostile input in every token location,
 * hostile but well-formed JWTs, and the demo app's endpoints. Deterministic
 * (seeded PRNG), so a failure names a case that can be replayed.
 *
 * For every request: a refusal status (400, 401, 404, 413, 415, 422; 200 only
 * where a valid token or no token on an optional route is deliberately used),
 * never a 5xx; a JSON body with the configured message key holding a short,
 * single-line message; and no unhandled rejection or uncaught exception.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import request from 'supertest';
import type { Response } from 'supertest';
import { Get, JsonController, Post, useKoaServer } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, FreshJwtRequired, Identity, JwtManager, JwtOptional, JwtOptions, JwtRequired,
  MemoryTokenStore, RefreshRequired, TokenLocation,
} from '../../src';
import { createDemoApp } from '../../demo/app';
import { b64url, hmac } from '../support/forge';
import { prng } from '../support/prng';

const ALL: TokenLocation[] = ['headers', 'cookies', 'query', 'json'];
const KEY = 'error';
const SECRET = 'fuzz-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

@JsonController('/fz')
class FuzzController {
  @Get('/req') @JwtRequired({ locations: ALL })
  getRequired(@Identity() who: string) { return { who }; }

  @Post('/req') @JwtRequired({ locations: ALL })
  postRequired(@Identity() who: string) { return { who }; }

  @Post('/fresh') @FreshJwtRequired({ locations: ALL })
  fresh(@Identity() who: string) { return { who }; }

  @Post('/refresh') @RefreshRequired({ locations: ALL })
  refresh(@Identity() who: string) { return { who }; }

  @Get('/opt') @JwtOptional({ locations: ALL })
  getOptional(@Identity() who?: string) { return { who: who ?? null }; }

  @Post('/opt') @JwtOptional({ locations: ALL })
  postOptional(@Identity() who?: string) { return { who: who ?? null }; }
}


class Rng {
  private readonly next: () => number;
  constructor(seed: number) { this.next = prng(seed); }
  float(): number { return this.next(); }
  int(max: number): number { return Math.floor(this.next() * max); }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]; }
  bool(): boolean { return this.next() < 0.5; }
  bytes(n: number): Buffer { return Buffer.from(Array.from({ length: n }, () => this.int(256))); }
  /** A header value Node's client will send: latin1 without control characters other than tab. */
  headerValue(n: number): string {
    return [...this.bytes(n)].map((b) => ((b < 0x20 && b !== 0x09) || b === 0x7f ? String.fromCharCode(0x20 + (b % 0x5f)) : String.fromCharCode(b))).join('');
  }
  /** Random unicode text (BMP, astral and combining characters). */
  unicode(n: number): string {
    const pools = [[0x20, 0x7e], [0xa0, 0x2ff], [0x300, 0x36f], [0x3040, 0x30ff], [0x4e00, 0x4fff], [0x1f300, 0x1f64f], [0xfff0, 0xfffd]];
    let text = '';
    for (let i = 0; i < n; i++) {
      const [lo, hi] = this.pick(pools);
      text += String.fromCodePoint(lo + this.int(hi - lo + 1));
    }
    return text;
  }
}

/** UTF-8 text sent byte for byte (Node's client writes header strings as latin1). */
const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

/** Hand-signs raw header and payload texts; `sig` chooses a valid HMAC, a wrong-key HMAC or garbage. */
function sign(headerText: string, payloadText: string, sig: 'valid' | 'wrong' | 'garbage' | 'empty', alg = 'HS256'): string {
  const input = `${b64url(headerText)}.${b64url(payloadText)}`;
  const hashAlg = ['HS256', 'HS384', 'HS512'].includes(alg) ? alg : 'HS256';
  if (sig === 'valid') return `${input}.${hmac(input, { secret: SECRET, alg: hashAlg })}`;
  if (sig === 'wrong') return `${input}.${hmac(input, { secret: `${SECRET}-not`, alg: hashAlg })}`;
  if (sig === 'garbage') return `${input}.${b64url(input.slice(0, 20))}`;
  return `${input}.`;
}

const now = () => Math.floor(Date.now() / 1000);

/** Values of the wrong kind, as raw JSON text (so -0 and 1e999 survive). */
const ODD_VALUES = [
  'null', 'true', 'false', '0', '-0', '1e308', '-1e308', '1e999', '-1e999', '5e-324', '9007199254740993', '1.5', '-1',
  '""', '" "', '"\\u0000"', '"access"', '"refresh"', '"ACCESS"', '[]', '[1,2]', '["alice"]', '{}', '{"a":{"b":{"c":[]}}}',
  '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"toString":1,"valueOf":2}',
  `"${'x'.repeat(3000)}"`, '"\\ud800"', '"日本語"', '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]',
];
const CLAIMS = ['sub', 'type', 'fresh', 'jti', 'iat', 'nbf', 'exp', 'csrf', 'aud', 'iss', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'x'];
const ALGS = ['"HS256"', '"hs256"', '"HS384"', '"HS512"', '"none"', '"None"', '"RS256"', '"ES256"', '"PS256"', '"EdDSA"', '""', 'null', '1', '["HS256"]', '{"HS256":true}', '"HS256\\u0000"', '" HS256"'];
const HEADER_EXTRAS = [
  '"crit":["exp"]', '"crit":[]', '"crit":"b64"', '"crit":null', '"b64":false', '"kid":1', '"kid":null', '"kid":{}', '"kid":["a"]', '"kid":""',
  '"kid":"../../etc/passwd"', '"kid":"\\u0000"', `"kid":"${'k'.repeat(500)}"`, '"jku":"http://evil.example/jwks"', '"x5u":"http://evil.example/cert"',
  '"jwk":{"kty":"oct","k":"AAAA"}', '"x5c":["AAAA"]', '"typ":"JWT"', '"typ":1', '"cty":"JWT"', '"__proto__":{"alg":"none"}', '"constructor":{"name":"x"}',
  '"zip":"DEF"', '"enc":"A128GCM"',
];

/** A random hostile but structurally valid JWS (three base64url segments). */
function hostileJwt(rng: Rng): string {
  const extras = Array.from({ length: rng.int(3) }, () => rng.pick(HEADER_EXTRAS));
  const algText = rng.float() < 0.6 ? '"HS256"' : rng.pick(ALGS);
  const headerText = rng.float() < 0.1 ? rng.pick(['[]', 'null', '"x"', '1', '{', '{"alg":"HS256"', '']) : `{${[`"alg":${algText}`, ...extras].join(',')}}`;
  const base: Record<string, string> = {
    sub: '"alice"', type: rng.pick(['"access"', '"refresh"']), fresh: rng.pick(['true', 'false']), jti: '"5e3b0f5c-0000-4000-8000-000000000000"',
    iat: String(now() - 10), nbf: String(now() - 10), exp: String(now() + 600),
  };
  const mutations = 1 + rng.int(4);
  for (let i = 0; i < mutations; i++) {
    const claim = rng.pick(CLAIMS);
    if (rng.float() < 0.15) delete base[claim];
    else base[claim] = rng.pick(ODD_VALUES);
  }
  const body = Object.entries(base).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',');
  const payloadText = rng.float() < 0.08 ? rng.pick(['[]', 'null', '"x"', '{"sub":', '{}', `{${body},${body}}`]) : `{${body}}`;
  const sig = rng.float() < 0.7 ? 'valid' : rng.pick(['wrong', 'garbage', 'empty'] as const);
  const alg = algText.replace(/"/g, '');
  return sign(headerText, payloadText, sig, alg);
}

/** Messages must be short: one line, no stack frames, no file paths, no raw parser dump. */
function messageProblem(message: unknown): string | undefined {
  if (typeof message !== 'string') return `message is ${typeof message}`;
  if (message.length === 0 || message.length > 300) return `message length ${message.length}`;
  if (/[\r\n]/.test(message)) return 'message spans lines';
  if (/\bat \S+ \(|\bat .+:\d+:\d+|\.(ts|js):\d+/.test(message)) return 'message has a stack frame';
  if (/(^|[\s(])\/(work|home|usr|tmp|src|node_modules)\//.test(message) || /node_modules/.test(message)) return 'message has a file path';
  return undefined;
}

interface Recorder {
  failures: string[];
  count: number;
}

/**
 * Checks one response: an allowed status, never 5xx; a JSON body; a refusal carries
 * exactly `{ [key]: <short message> }`.
 */
function check(recorder: Recorder, label: string, res: Response, allowed: readonly number[], key: string, ok?: (body: unknown) => boolean): void {
  recorder.count++;
  const problems: string[] = [];
  if (!allowed.includes(res.status)) problems.push(`status ${res.status} not in ${allowed.join('/')}`);
  if (res.status >= 500) problems.push('5xx');
  if (!/json/.test(res.type)) problems.push(`type ${res.type}`);
  if (res.status === 200) {
    if (ok && !ok(res.body)) problems.push('unexpected 200 body');
  } else {
    const body = res.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) problems.push('body not an object');
    else {
      const keys = Object.keys(body);
      if (keys.length !== 1 || keys[0] !== key) problems.push(`body keys ${JSON.stringify(keys)}`);
      const problem = messageProblem(body[key]);
      if (problem) problems.push(problem);
    }
  }
  if (problems.length) recorder.failures.push(`${label} -> ${res.status} ${res.text.slice(0, 160)} [${problems.join('; ')}]`);
}

const short = (text: string) => JSON.stringify(text.length > 50 ? `${text.slice(0, 50)}...(${text.length})` : text);

/** Turns what escapes the routes into `{ [key]: msg }` JSON (as the demo app does), and records every 5xx cause. */
function jsonErrors(key: string, serverErrors: unknown[]): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { [key]: 'Not found' };
      }
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = { [key]: status === 400 ? 'Bad request' : String((error as Error).message).split('\n')[0].slice(0, 100) };
      } else {
        serverErrors.push(error);
        ctx.status = 500;
        ctx.body = { [key]: 'Internal server error' };
      }
    }
  };
}

describe('koa: fuzzing every input (seeded)', function () {
  this.timeout(60_000);
  const unhandled: unknown[] = [];
  const uncaught: unknown[] = [];
  const serverErrors: unknown[] = [];
  const recorder: Recorder = { failures: [], count: 0 };
  const onRejection = (reason: unknown) => { unhandled.push(reason); };
  const onException = (error: unknown) => { uncaught.push(error); };

  before(() => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
  });
  after(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    JwtManager.reset();
  });

  describe('the library on all four locations (revocation: memory, checks all)', () => {
    let server: Server;
    let access: string;
    let freshAccess: string;
    let refresh: string;
    let csrfAccess: string;

    function start(extra: Partial<JwtOptions> = {}) {
      JwtManager.configure({
        secret: SECRET, errorMessageKey: KEY, tokenLocation: ALL, revocation: { store: new MemoryTokenStore(), checks: 'all' }, ...extra,
      });
      const app = new Koa();
      app.silent = true;
      app.on('error', (error) => serverErrors.push(error));
      app.use(jsonErrors(KEY, serverErrors));
      useKoaServer(app, { controllers: [FuzzController], defaultErrorHandler: false });
      server = app.listen(0);
    }

    before(async () => {
      start();
      access = await createAccessToken('alice');
      freshAccess = await createAccessToken('alice', { fresh: true });
      refresh = await createRefreshToken('alice');
      csrfAccess = JSON.parse(Buffer.from(access.split('.')[1], 'base64url').toString()).csrf;
    });
    after(() => server?.close());

    const REFUSALS = [400, 401, 413, 415, 422];
    const ROUTES: [string, string][] = [['get', '/fz/req'], ['post', '/fz/req'], ['post', '/fz/fresh'], ['post', '/fz/refresh'], ['get', '/fz/opt'], ['post', '/fz/opt']];
    const call = (method: string, path: string) => (method === 'get' ? request(server).get(path) : request(server).post(path));
    const isOptional = (path: string) => path === '/fz/opt';
    /** A 200 of an optional route is only ever anonymous here: no hostile input may log anyone in. */
    const anonymous = (body: unknown) => (body as { who?: unknown }).who === null;

    it('Authorization headers: random schemes, unicode, tab, latin1, up to the header size limit', async () => {
      const rng = new Rng(0xa11ce);
      const schemes = ['Bearer', 'bearer', 'BEARER', 'Basic', 'Bearer,', 'Token', 'JWT', '', ' ', 'Bearer\t', 'Bearer  ', 'Bearer Bearer'];
      for (let i = 0; i < 90; i++) {
        const [method, path] = rng.pick(ROUTES);
        const kind = rng.int(6);
        let value: string;
        if (kind === 0) value = rng.headerValue(1 + rng.int(400));
        else if (kind === 1) value = `${rng.pick(schemes)} ${rng.headerValue(1 + rng.int(300))}`;
        else if (kind === 2) value = utf8(`${rng.pick(schemes)} ${rng.unicode(1 + rng.int(60))}`);
        else if (kind === 3) value = `${rng.pick(schemes)} ${hostileJwt(rng)}`;
        else if (kind === 4) value = `Bearer ${'A'.repeat(1000 + rng.int(14_000))}${rng.pick(['', '.b.c', '..', '.'])}`;
        else value = [rng.pick(schemes), hostileJwt(rng), rng.pick(schemes), rng.headerValue(rng.int(20))].join(rng.pick([', ', ',', ' ', '\t', ' , ']));
        // a header Node's client refuses to send is not input the server can get
        const res = await call(method, path).set('Authorization', value);
        // @JwtOptional: a header without the configured scheme is no token at all, so the route runs anonymously (who: null)
        check(recorder, `header ${method} ${path} ${short(value)}`, res, isOptional(path) ? [200, 401, 422] : [401, 422], KEY, anonymous);
      }
      const limit = await request(server).get('/fz/req').set('Authorization', `Bearer ${'x'.repeat(15_800)}`);
      check(recorder, 'header near the limit', limit, [401, 422], KEY);
    });

    it('comma- and space-heavy and huge repetitive headers and cookies, up to the header size limit', async () => {
      const rng = new Rng(0x5eaced);
      const units = [',', ' ', '\t', ', ', ' ,', ' , ', ',,', 'Bearer', 'bearer', 'Bearer ', 'BEARER,', 'Basic abc', 'x', 'a.b.c', ';', '=', '"', '\u00a0'];
      /** 1 to 3 units repeated to a random length (a few up to ~15.8 KiB), with an optional scheme around them. */
      const repetitive = () => {
        const unit = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(units)).join('');
        const body = unit.repeat(Math.ceil((rng.bool() ? 15_000 : 1 + rng.int(2_000)) / unit.length));
        return `${rng.pick(['', 'Bearer ', 'Bearer', ', '])}${body}`.slice(0, 15_000) + rng.pick(['', ' x', `, Bearer ${hostileJwt(rng)}`]).slice(0, 700);
      };
      for (let i = 0; i < 70; i++) {
        const [method, path] = rng.pick(ROUTES);
        const value = repetitive();
        const res = await call(method, path).set('Authorization', value);
        check(recorder, `repetitive header ${method} ${path} ${short(value)}`, res, isOptional(path) ? [200, 401, 422] : [401, 422], KEY, anonymous);
      }
      for (let i = 0; i < 30; i++) {
        const [method, path] = rng.pick(ROUTES);
        const cookie = `${rng.pick(['', 'access_token_cookie=', 'x=1; access_token_cookie='])}${repetitive().replace(/[^\t\x20-\x7e]/g, ' ')}`;
        const csrf = rng.bool() ? repetitive().replace(/[^\t\x20-\x7e]/g, ',').trim() || ',' : csrfAccess;
        const res = await call(method, path).set('Cookie', cookie).set('X-CSRF-TOKEN', csrf.slice(0, 200));
        check(recorder, `repetitive cookie ${method} ${path} ${short(cookie)}`, res, isOptional(path) ? [200, 401, 422] : [401, 422], KEY, anonymous);
      }
    });

    it('cookies: garbage, percent-encoded, huge; with and without random CSRF headers', async () => {
      const rng = new Rng(0xc00c1e);
      for (let i = 0; i < 90; i++) {
        const [method, path] = rng.pick(ROUTES);
        const name = rng.pick(['access_token_cookie', 'refresh_token_cookie', 'Access_Token_Cookie', 'access_token_cookie ', 'access_token_cookie.sig']);
        const kind = rng.int(6);
        let value: string;
        if (kind === 0) value = rng.headerValue(rng.int(300)).replace(/;/g, '');
        else if (kind === 1) value = encodeURIComponent(rng.unicode(1 + rng.int(40)));
        else if (kind === 2) value = rng.pick(['%', '%zz', '%E0%A4%A', '%00', '%C0%AF', '"quoted"', '""', '"', '=', '==', 'a=b=c']);
        else if (kind === 3) value = 'c'.repeat(1000 + rng.int(14_000));
        else if (kind === 4) value = hostileJwt(rng);
        else value = rng.pick([access, freshAccess, refresh]) + rng.pick(['', 'x', '%20', '.']);
        const cookie = rng.bool() ? `${name}=${value}` : `other=1; ${name}=${value}; ${name}=second; csrf_access_token=${rng.headerValue(8).replace(/;/g, '')}`;
        let req = call(method, path).set('Cookie', cookie);
        if (rng.bool()) {
          const csrf = rng.pick([
            () => rng.headerValue(rng.int(200)), () => utf8(rng.unicode(rng.int(30))), () => encodeURIComponent(rng.unicode(10)), () => ' ', () => '\t',
            () => 'z'.repeat(rng.int(8000)), () => csrfAccess,
          ])();
          req = req.set('X-CSRF-TOKEN', csrf);
        }
        const res = await req;
        check(recorder, `cookie ${method} ${path} ${short(cookie)}`, res, isOptional(path) ? [200, 401, 422] : [401, 422], KEY, anonymous);
      }
      // a valid cookie with the right CSRF value is let in; with a wrong one it is refused
      const good = await request(server).post('/fz/req').set('Cookie', `access_token_cookie=${access}`).set('X-CSRF-TOKEN', csrfAccess);
      check(recorder, 'valid cookie + csrf', good, [200], KEY, (body) => (body as { who?: string }).who === 'alice');
      const rng2 = new Rng(0xc5f);
      for (let i = 0; i < 20; i++) {
        const csrf = rng2.bool() ? rng2.headerValue(1 + rng2.int(100)).trim() || 'x' : utf8(rng2.unicode(1 + rng2.int(20)));
        const res = await request(server).post('/fz/req').set('Cookie', `access_token_cookie=${access}`).set('X-CSRF-TOKEN', csrf);
        check(recorder, `valid cookie + random csrf ${short(csrf)}`, res, [401], KEY);
      }
    });

    it('query strings: repeated, empty, arrays, encoded garbage', async () => {
      const rng = new Rng(0x9e7);
      const fixed = [
        'jwt=', 'jwt', 'jwt=&jwt=', 'jwt=a&jwt=b', 'jwt[]=a', 'jwt[]=a&jwt[]=b', 'jwt[0]=a', 'jwt[a]=b', 'jwt=%', 'jwt=%zz', 'jwt=%E0%A4%A',
        'jwt=%00', 'jwt=%00.%00.%00', '=&&&=', 'jwt=a&JWT=b', `jwt=${'q'.repeat(10_000)}`, 'jwt=+', 'jwt=..', 'jwt=a.b.c', '__proto__=x&jwt=x',
        'constructor=1&jwt=y', 'hasOwnProperty=1&jwt=z', `jwt=${access}&jwt=${access}`, `jwt=${encodeURIComponent(refresh)}x`,
      ];
      const queries = [...fixed];
      for (let i = 0; i < 50; i++) {
        const kind = rng.int(4);
        if (kind === 0) queries.push(`jwt=${encodeURIComponent(rng.bytes(1 + rng.int(200)).toString('latin1'))}`);
        else if (kind === 1) queries.push(`jwt=${encodeURIComponent(rng.unicode(1 + rng.int(50)))}`);
        else if (kind === 2) queries.push(`jwt=${encodeURIComponent(hostileJwt(rng))}`);
        else queries.push(Array.from({ length: 1 + rng.int(5) }, () => `${rng.pick(['jwt', 'jwt[]', 'jwt[x]', 'x'])}=${encodeURIComponent(rng.unicode(5))}`).join('&'));
      }
      for (const query of queries) {
        const [method, path] = rng.pick(ROUTES);
        const res = await call(method, `${path}?${query}`);
        const allowed = isOptional(path) ? [200, 401, 422] : [401, 422];
        check(recorder, `query ${method} ${path}?${short(query)}`, res, allowed, KEY, (body) => (body as { who?: unknown }).who === null);
      }
      const good = await request(server).get(`/fz/req?jwt=${access}`);
      check(recorder, 'valid query token', good, [200], KEY, (body) => (body as { who?: string }).who === 'alice');
    });

    it('JSON bodies: wrong types, invalid JSON, wrong content types, deep nesting, too large', async () => {
      const rng = new Rng(0x150);
      const contentTypes = [
        'application/json', 'application/vnd.api+json', 'application/json; charset=utf-8', 'application/json; charset=utf-16',
        'application/json; charset=bogus', 'application/json; charset="', 'application/json;;;', 'text/plain', 'text/json',
        'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '*/*', 'json', ';', '',
        'application/json, text/plain', 'APPLICATION/JSON', 'application/json; charset=latin1',
      ];
      const values = [
        ...ODD_VALUES, '"a.b.c"', `"${'a'.repeat(100_000)}"`, `"${'a.'.repeat(20_000)}a"`,
      ];
      const bodies = () => {
        const kind = rng.int(7);
        const key = rng.pick(['access_token', 'refresh_token', 'Access_Token', '__proto__', 'constructor']);
        if (kind === 0) return `{"${key}":${rng.pick(values)}}`;
        if (kind === 1) return `{"${key}":${JSON.stringify(hostileJwt(rng))}}`;
        if (kind === 2) return rng.pick(['{', '{"access_token":', '{"access_token":"a"', "{'access_token':'a'}", '[', 'nul', 'tru', '{"a":1}}', '\u0000', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\n"}\n{']);
        if (kind === 3) return rng.pick(['null', 'true', '0', '-0', '1e999', '"access_token"', '[]', `[${JSON.stringify(access)}]`, '{}']);
        if (kind === 4) { const d = 1000 + rng.int(100_000); return `{"access_token":${'['.repeat(d)}${']'.repeat(d)}}`; }
        if (kind === 5) { const d = 1000 + rng.int(50_000); return `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`; }
        return `{"access_token":${JSON.stringify(rng.pick([access, freshAccess, refresh]))},"refresh_token":${rng.pick(values)},"__proto__":{"access_token":"x"}}`;
      };
      for (let i = 0; i < 100; i++) {
        const path = rng.pick(['/fz/req', '/fz/fresh', '/fz/refresh', '/fz/opt']);
        const type = rng.float() < 0.6 ? 'application/json' : rng.pick(contentTypes);
        const body = bodies();
        const res = await request(server).post(path).set('Content-Type', type).send(body);
        const allowed = [...REFUSALS, ...(body.startsWith('{"access_token":"ey') || isOptional(path) ? [200] : [])];
        check(recorder, `json ${path} ${short(type)} ${short(body)}`, res, allowed, KEY, (b) => ['alice', null].includes((b as { who?: unknown }).who as string));
      }
      const huge = await request(server).post('/fz/req').set('Content-Type', 'application/json').send(`{"access_token":"${'a'.repeat(2_000_000)}"}`);
      check(recorder, 'json body over the limit', huge, [413], KEY);
      const good = await request(server).post('/fz/refresh').send({ refresh_token: refresh });
      check(recorder, 'valid json refresh token', good, [200], KEY, (body) => (body as { who?: string }).who === 'alice');
    });

    it('hostile but well-formed JWTs in every location, signed validly and not', async () => {
      const rng = new Rng(0x7e57);
      for (let i = 0; i < 160; i++) {
        const [method, path] = rng.pick(ROUTES);
        const token = hostileJwt(rng);
        const location = rng.pick(ALL);
        let req;
        if (location === 'headers') req = call(method, path).set('Authorization', `Bearer ${token}`);
        else if (location === 'cookies') {
          req = call(method, path).set('Cookie', `${path === '/fz/refresh' ? 'refresh' : 'access'}_token_cookie=${token}`);
          if (rng.bool()) req = req.set('X-CSRF-TOKEN', rng.pick(['x', csrfAccess, '5e3b0f5c']));
        } else if (location === 'query') req = call(method, `${path}?jwt=${encodeURIComponent(token)}`);
        else req = request(server).post(path).send({ [path === '/fz/refresh' ? 'refresh_token' : 'access_token']: token });
        const res = await req;
        // a hand-signed token's jti is unknown to the store (checks: 'all'): never let in
        check(recorder, `jwt via ${location} ${method} ${path} ${token}`, res, [401, 422], KEY);
      }
    });

    it('a huge maxTokenLength: deeply nested claims in a validly signed token', async () => {
      server.close();
      start({ maxTokenLength: 1_000_000 });
      const rng = new Rng(0xdee9);
      for (let i = 0; i < 12; i++) {
        const depth = 1000 + rng.int(150_000);
        const nested = rng.bool() ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const payloadText = `{"sub":"alice","type":"access","fresh":true,"jti":"j-${i}","iat":${now()},"nbf":${now()},"exp":${now() + 600},"x":${nested}}`;
        const token = sign('{"alg":"HS256","typ":"JWT"}', payloadText, 'valid');
        const res = await request(server).post('/fz/req').send({ access_token: token });
        // the store does not know the hand-made jti: 401 revoked, or 413 when the body is over the parser's limit
        check(recorder, `nested claim depth ${depth}`, res, [401, 413], KEY);
      }
    });
  });

  describe('the demo app (revocation: memory, checks all)', () => {
    let server: Server;
    let access: string;
    let refresh: string;
    const DEMO_REFUSALS = [400, 401, 404, 413, 415, 422];

    before(async () => {
      const app = createDemoApp({ jwt: { revocation: { store: new MemoryTokenStore(), checks: 'all' } } });
      app.silent = true;
      app.on('error', (error) => serverErrors.push(error));
      server = app.listen(0);
      const res = await request(server).post('/login').send({ username: 'test', password: 'test' });
      assert.equal(res.status, 200);
      ({ access_token: access, refresh_token: refresh } = res.body);
    });
    after(() => server?.close());

    it('POST /login and /fresh-login with hostile bodies', async () => {
      const rng = new Rng(0x1091);
      const odd = [...ODD_VALUES, '"test"', '"admin"', `"${'u'.repeat(201)}"`, '{"toString":"test"}', '["test"]'];
      for (let i = 0; i < 70; i++) {
        const path = rng.pick(['/login', '/fresh-login', '/cookie/login']);
        const kind = rng.int(6);
        let body: string;
        if (kind === 0) body = `{"username":${rng.pick(odd)},"password":${rng.pick(odd)}}`;
        else if (kind === 1) body = rng.pick(['[]', 'null', '1', '"x"', '{', '{"username":"test"', '{"__proto__":{"username":"test","password":"test"}}', '{"username":"test","password":"test","extra":1}', '{"constructor":{"prototype":{"username":"test"}}}']);
        else if (kind === 2) { const d = 1000 + rng.int(60_000); body = `{"username":${'['.repeat(d)}${']'.repeat(d)},"password":"test"}`; }
        else if (kind === 3) { const d = 1000 + rng.int(30_000); body = `{"username":"test","password":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`; }
        else if (kind === 4) body = `{"username":${JSON.stringify(rng.unicode(1 + rng.int(100)))},"password":${JSON.stringify(rng.headerValue(rng.int(50)))}}`;
        else body = rng.pick(['{"a":"\n"', '{\n"username": "te\nst"\n', '{"username":"\\ud800","password":"\\udfff"}', '\ufeff{"username":"test","password":"test"}']);
        const type = rng.float() < 0.75 ? 'application/json' : rng.pick(['text/plain', 'application/json; charset=bogus', 'application/x-www-form-urlencoded', 'application/vnd.api+json']);
        const res = await request(server).post(path).set('Content-Type', type).send(body);
        check(recorder, `demo ${path} ${short(type)} ${short(body)}`, res, [...DEMO_REFUSALS, 200], 'msg', (b) => typeof b === 'object' && b !== null);
      }
    });

    it('POST /refresh with hostile tokens and headers', async () => {
      const rng = new Rng(0x2ef);
      for (let i = 0; i < 40; i++) {
        const value = rng.pick([
          () => `Bearer ${hostileJwt(rng)}`, () => rng.headerValue(1 + rng.int(200)), () => `Bearer ${access}`, () => `Bearer ${refresh}x`,
          () => utf8(`Bearer ${rng.unicode(20)}`), () => `Bearer ${refresh}, Bearer ${refresh}`,
        ])();
        const res = await request(server).post('/refresh').set('Authorization', value).send(rng.pick(['', '{', '{"refresh_token":1}']));
        check(recorder, `demo /refresh ${short(value)}`, res, [400, 401, 422], 'msg');
      }
    });

    it('PUT /auth/tokens/revoke/:jti with odd jtis', async () => {
      const rng = new Rng(0x3e7);
      const jtis = [
        '%00', '..%2F', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'x'.repeat(5000), encodeURIComponent('日本語🔑'), '%', '%zz', '%E0%A4%A', '__proto__',
        'constructor', 'hasOwnProperty', 'toString', '%20', '.', '..', encodeURIComponent('\u0000\u0001'), '%C0%AF', encodeURIComponent('a/b'),
      ];
      for (let i = 0; i < 16; i++) jtis.push(encodeURIComponent(rng.unicode(1 + rng.int(30))));
      for (const jti of jtis) {
        for (const verb of ['revoke', 'unrevoke']) {
          const res = await request(server).put(`/auth/tokens/${verb}/${jti}`).set('Authorization', `Bearer ${access}`).send(rng.pick(['', '{', '[]']));
          check(recorder, `demo ${verb} ${short(jti)}`, res, [400, 404], 'msg');
        }
        const anonymous = await request(server).put(`/auth/tokens/revoke/${jti}`).set('Authorization', `Bearer ${hostileJwt(rng)}`);
        check(recorder, `demo revoke with a forged token ${short(jti)}`, anonymous, [400, 401, 404, 422], 'msg');
      }
      const still = await request(server).get('/protected').set('Authorization', `Bearer ${access}`);
      check(recorder, 'the access token still works', still, [200], 'msg', (body) => (body as { hello?: string }).hello === 'world');
    });
  });

  describe('summary (runs last)', () => {
   it('no request failed a property, and nothing escaped', () => {
    assert.ok(recorder.count >= 400, `only ${recorder.count} requests`);
    assert.deepEqual(recorder.failures, []);
    assert.deepEqual(serverErrors.map(String), []);
    assert.deepEqual(unhandled.map(String), []);
    assert.deepEqual(uncaught.map(String), []);
   });
  });
});
