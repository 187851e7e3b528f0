/**
 * Linear header parsing (DESIGN.md 0.2 A): the single-scan `tokenFromHeader`
 * gives exactly the outcomes of the 0.1 regex parse on every input, and a 16 KiB
 * hostile header costs microseconds, not the 0.1 parse's ~0.1-0.5 s of event loop.
 */
import assert from 'node:assert/strict';
import { createServer, Server } from 'node:http';
import request from 'supertest';
import { createKoaServer, Get, JsonController } from 'routing-controllers';
import { Identity, JwtManager, JwtOptions, JwtRequired } from '../../src';
import { InvalidTokenError, NoAuthorizationError } from '../../src/core/errors';
import type { JwtConfig } from '../../src/core/options';
import { tokenFromHeader } from '../../src/koa/extract';
import { expectResponse } from '../support/assert-response';
import { token } from '../support/forge';
import { SECRET } from '../support/server';
import { prng } from '../support/prng';

/** The 0.1 parse, kept as the oracle: quadratic on long inputs, so only ever given short ones. */
function regexReference(value: string | undefined, config: Pick<JwtConfig, 'headerName' | 'headerType'>): string {
  const { headerName, headerType } = config;
  const typeLength = headerType.length;
  if (typeLength > 0 && value !== undefined && value.charCodeAt(typeLength) === 32 && value.startsWith(headerType)) {
    const found = value.slice(typeLength + 1);
    if (found !== '' && !/[\s,]/.test(found)) return found;
  }
  const header = (value ?? '').trim().replace(/^,+|,+$/g, '').trim();
  if (header === '') throw new NoAuthorizationError(`Missing ${headerName} Header`);
  if (headerType === '') {
    const parts = header.split(/\s+/);
    if (parts.length !== 1) throw new InvalidTokenError(`Bad ${headerName} header. Expected '${headerName}: <JWT>'`, 'ERR_JWT_BAD_HEADER');
    return parts[0];
  }
  const scheme = headerType.toLowerCase();
  const candidates = header.split(/\s*,\s*/).filter((field) => field.split(/\s+/)[0].toLowerCase() === scheme);
  if (candidates.length !== 1) {
    throw new NoAuthorizationError(`Missing '${headerType}' type in '${headerName}' header. Expected '${headerName}: ${headerType} <JWT>'`, 'ERR_JWT_SCHEME');
  }
  const parts = candidates[0].split(/\s+/);
  if (parts.length !== 2) throw new InvalidTokenError(`Bad ${headerName} header. Expected '${headerName}: ${headerType} <JWT>'`, 'ERR_JWT_BAD_HEADER');
  return parts[1];
}

type Parse = (value: string | undefined, config: JwtConfig) => string;

/** What a parse answers: the token, or the refusal's class, code and message. */
function outcome(parse: Parse, value: string | undefined, config: JwtConfig): string {
  try {
    return `token ${JSON.stringify(parse(value, config))}`;
  } catch (error) {
    const { name, code, message } = error as NoAuthorizationError;
    return `${name} ${code} ${message}`;
  }
}

const configOf = (headerType: string, headerName = 'Authorization') => ({ headerName, headerType }) as JwtConfig;
const CONFIGS = [configOf('Bearer'), configOf('JWT', 'X-Token'), configOf(''), configOf('x')];

function assertSameOutcome(value: string | undefined, config: JwtConfig): void {
  const expected = outcome(regexReference, value, config);
  const actual = outcome(tokenFromHeader, value, config);
  if (actual !== expected) assert.equal(actual, expected, `header ${JSON.stringify(value)}, headerType ${JSON.stringify(config.headerType)}`);
}


const N = 16 * 1024;
const JWT = token();

/** 16 KiB hostile headers and what the default Bearer route answers to each. */
const MISSING_HEADER = { msg: 'Missing Authorization Header' };
const MISSING_TYPE = { msg: "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'" };
const BAD_HEADER = { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" };
const HOSTILE: { name: string; value: string; status: number; body: unknown }[] = [
  { name: 'commas', value: ','.repeat(N), status: 401, body: MISSING_HEADER },
  { name: 'commas between two words', value: `x${','.repeat(N)}x`, status: 401, body: MISSING_TYPE },
  { name: 'spaces between two words', value: `x${' '.repeat(N)}x`, status: 401, body: MISSING_TYPE },
  { name: 'spaces after Bearer, before a token and one more word', value: `Bearer${' '.repeat(N)}${JWT} x`, status: 422, body: BAD_HEADER },
  { name: '", " repeated', value: `x${', '.repeat(N / 2)}x`, status: 401, body: MISSING_TYPE },
  { name: 'tabs', value: `x${'\t'.repeat(N)}x,`, status: 401, body: MISSING_TYPE },
  { name: 'many Bearer fields', value: 'Bearer x, '.repeat(N / 10), status: 401, body: MISSING_TYPE },
  { name: 'mixed commas, spaces, tabs and schemes', value: ' ,\t, bearer\t,BEARER  x y ,'.repeat(N / 26), status: 401, body: MISSING_TYPE },
  { name: 'white space around one Bearer field (the token still passes)', value: `${' , '.repeat(N / 6)}Bearer\t \t${JWT}${' \t'.repeat(N / 4)}`, status: 200, body: { hello: 'alice' } },
];

@JsonController('/lin')
class LinearController {
  @Get('/me') @JwtRequired()
  me(@Identity() who: string) { return { hello: who }; }
}

/** Serves with a 64 KiB header limit (Node's default, 16 KiB, would refuse a 16 KiB header with 431 before any parse). */
function serveLarge(options: Partial<JwtOptions> = {}): Server {
  JwtManager.configure({ secret: SECRET, ...options });
  const app = createKoaServer({ controllers: [LinearController] });
  app.silent = true;
  return createServer({ maxHeaderSize: 64 * 1024 }, app.callback()).listen(0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function millisecondsOf(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

describe('koa: linear header parsing', () => {
  describe('the single scan answers exactly as the 0.1 regex parse', () => {
    it('for every UTF-16 code unit between, before and after the words of a header', () => {
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0; // 260 000 refusals: their stacks would cost seconds and are never read
      try {
        for (let code = 0; code <= 0xffff; code++) {
          const c = String.fromCharCode(code);
          for (const value of [`Bearer${c}tok`, `${c}Bearer tok${c}`, `a,${c}Bearer tok`]) assertSameOutcome(value, CONFIGS[0]);
          assertSameOutcome(`tok${c}en`, CONFIGS[2]);
        }
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
    });

    it('for 10 000 random headers of white space, commas and scheme words', () => {
      const random = prng(0x5ca1ab1e);
      const pieces = [' ', '  ', '\t', ',', ',,', ', ', '\u00a0', '\u2028', '\ufeff', '\u3000', '\v', 'Bearer', 'bearer', 'BEARER', 'JWT', 'jwt', 'x', 'tok', 'a.b.c', '\u0130', 'B'];
      for (let i = 0; i < 10_000; i++) {
        const length = Math.floor(random() * 9);
        let value = '';
        for (let j = 0; j < length; j++) value += pieces[Math.floor(random() * pieces.length)];
        for (const config of CONFIGS) assertSameOutcome(value, config);
      }
    });

    it('for an absent and an empty header', () => {
      for (const config of CONFIGS) {
        assertSameOutcome(undefined, config);
        assertSameOutcome('', config);
      }
    });
  });

  describe('the cost of a 16 KiB hostile header', () => {
    for (const { name, value } of HOSTILE) {
      it(`${name}: the parse takes under 10 ms (median of 15)`, () => {
        const config = configOf('Bearer');
        const times = Array.from({ length: 15 }, () => millisecondsOf(() => outcome(tokenFromHeader, value, config)));
        assert.ok(median(times) < 10, `median ${median(times).toFixed(3)} ms`);
      });
    }

    it('the bare-token scheme (headerType \'\'): spaces between two words parse in under 10 ms (median of 15)', () => {
      const value = `x${' '.repeat(N)}y`;
      const times = Array.from({ length: 15 }, () => millisecondsOf(() => outcome(tokenFromHeader, value, configOf(''))));
      assert.ok(median(times) < 10, `median ${median(times).toFixed(3)} ms`);
    });
  });

  describe('over HTTP, each 16 KiB hostile header gets its JSON answer at once', () => {
    let server: Server;
    afterEach(() => {
      server.close();
      JwtManager.reset();
    });

    for (const { name, value, status, body } of HOSTILE) {
      it(`${name}: ${status} ${JSON.stringify(body)}, in under 50 ms (median of 5)`, async () => {
        server = serveLarge();
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const start = process.hrtime.bigint();
          const res = await request(server).get('/lin/me').set('Authorization', value);
          times.push(Number(process.hrtime.bigint() - start) / 1e6);
          expectResponse(res, status, body);
        }
        assert.ok(median(times) < 50, `median ${median(times).toFixed(1)} ms`);
      });
    }

    it("headerType '': 16 KiB of spaces between two words is 422 Bad Authorization header, in under 50 ms (median of 5)", async () => {
      server = serveLarge({ headerType: '' });
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = process.hrtime.bigint();
        const res = await request(server).get('/lin/me').set('Authorization', `x${' '.repeat(N)}y`);
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
        expectResponse(res, 422, { msg: "Bad Authorization header. Expected 'Authorization: <JWT>'" });
      }
      assert.ok(median(times) < 50, `median ${median(times).toFixed(1)} ms`);
    });

    it('the plain token beside them still passes: 200', async () => {
      server = serveLarge();
      expectResponse(await request(server).get('/lin/me').set('Authorization', `Bearer ${JWT}`), 200, { hello: 'alice' });
    });
  });
});
