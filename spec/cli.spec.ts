/**
 * The CLI, run as a user runs it: a real `node` process on the compiled src/cli.ts,
 * exit codes and output asserted, bad input included (never a stack trace).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessToken, JwtManager } from '../src';
import { forge } from './support/forge';
import { testKey } from './support/keys';
import { compileSources } from './support/compile';

const SECRET = 'cli-spec-secret-of-at-least-32-bytes!!';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let cliPath: string;
let cleanup: () => void;
let workDir: string;

function cli(args: string[], env: Record<string, string> = {}): Run {
  const result = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: workDir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000,
  });
  // no input may print a stack trace
  assert.doesNotMatch(result.stderr, /\n\s+at /, `stack trace in: ${result.stderr}`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function hsToken(options: { expiresIn?: number } = {}, secret = SECRET): Promise<string> {
  JwtManager.configure({ secret });
  return createAccessToken('alice', { ...options, claims: { roles: ['admin'] } });
}

describe('CLI: npx koa-jwt-extended', () => {
  before(() => {
    const compiled = compileSources();
    cliPath = join(compiled.outDir, 'cli.js');
    cleanup = compiled.cleanup;
  });
  after(() => cleanup());
  beforeEach(() => (workDir = mkdtempSync(join(tmpdir(), 'kje-cli-'))));
  afterEach(() => {
    rmSync(workDir, { recursive: true, force: true });
    JwtManager.reset();
  });

  describe('secret', () => {
    it('prints 64 random bytes as base64url, different each run', () => {
      const [first, second] = [cli(['secret']), cli(['secret'])];
      assert.deepEqual([first.code, second.code], [0, 0]);
      assert.match(first.stdout, /^[A-Za-z0-9_-]{86}\n$/);
      assert.equal(Buffer.from(first.stdout.trim(), 'base64url').length, 64);
      assert.notEqual(first.stdout, second.stdout);
    });

    it('a printed secret configures HS512', () => {
      const secret = cli(['secret']).stdout.trim();
      assert.doesNotThrow(() => JwtManager.configure({ secret, algorithm: 'HS512' }));
    });
  });

  describe('keys', () => {
    it('writes an RS256 pair that signs and verifies, the private key readable by its owner only', async () => {
      const run = cli(['keys', 'RS256']);
      assert.equal(run.code, 0, run.stderr);
      const privatePem = readFileSync(join(workDir, 'jwt-RS256-private.pem'), 'utf8');
      const publicPem = readFileSync(join(workDir, 'jwt-RS256-public.pem'), 'utf8');
      assert.equal(statSync(join(workDir, 'jwt-RS256-private.pem')).mode & 0o077, 0);
      JwtManager.configure({ algorithm: 'RS256', privateKey: privatePem, publicKey: publicPem });
      const payload = await JwtManager.instance.decodeToken(await createAccessToken('alice'));
      assert.equal(payload.sub, 'alice');
    });

    it('writes an ES384 pair on the P-384 curve into --out', () => {
      const run = cli(['keys', 'ES384', '--out', workDir]);
      assert.equal(run.code, 0, run.stderr);
      const key = createPrivateKey(readFileSync(join(workDir, 'jwt-ES384-private.pem')));
      assert.equal(key.asymmetricKeyDetails?.namedCurve, 'secp384r1');
      assert.equal(createPublicKey(readFileSync(join(workDir, 'jwt-ES384-public.pem'))).asymmetricKeyType, 'ec');
    });

    it('creates a missing --out directory (and its parents), private to the user', () => {
      const out = join(workDir, 'keys', 'jwt');
      const run = cli(['keys', 'ES256', '--out', out]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(createPrivateKey(readFileSync(join(out, 'jwt-ES256-private.pem'))).asymmetricKeyType, 'ec');
      assert.equal(statSync(out).mode & 0o777, 0o700);
    });

    it('refuses an --out that is a file: exit 1, no stack', () => {
      writeFileSync(join(workDir, 'keys'), 'not a directory');
      const run = cli(['keys', 'ES256', '--out', 'keys']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /keys exists and is not a directory/);
    });

    it('writes an EdDSA (Ed25519) pair that signs and verifies; verify --public-key picks EdDSA from the key', async () => {
      const run = cli(['keys', 'EdDSA']);
      assert.equal(run.code, 0, run.stderr);
      const privatePem = readFileSync(join(workDir, 'jwt-EdDSA-private.pem'), 'utf8');
      const publicPath = join(workDir, 'jwt-EdDSA-public.pem');
      assert.equal(createPublicKey(readFileSync(publicPath)).asymmetricKeyType, 'ed25519');
      JwtManager.configure({ algorithm: 'EdDSA', privateKey: privatePem });
      const token = await createAccessToken('alice');
      const verified = cli(['verify', token, '--public-key', publicPath]);
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(verified.stdout, /^valid \(EdDSA\)/);
    });

    it('refuses to overwrite an existing key file: exit 1, file untouched', () => {
      writeFileSync(join(workDir, 'jwt-PS256-private.pem'), 'mine');
      const run = cli(['keys', 'PS256']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /jwt-PS256-private\.pem exists; not overwriting it/);
      assert.equal(readFileSync(join(workDir, 'jwt-PS256-private.pem'), 'utf8'), 'mine');
      assert.equal(existsSync(join(workDir, 'jwt-PS256-public.pem')), false);
    });

    it('refuses HS256 with a pointer to `secret`: exit 2, nothing written', () => {
      const run = cli(['keys', 'HS256']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /HS256 uses a shared secret, not a key pair: run `koa-jwt-extended secret`/);
      assert.equal(existsSync(join(workDir, 'jwt-HS256-private.pem')), false);
    });

    it('refuses an unknown algorithm: exit 2', () => {
      const run = cli(['keys', 'none']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /unknown algorithm 'none' \(key pairs: RS256, /);
    });

    it('without an algorithm: usage, exit 2', () => {
      const run = cli(['keys']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /keys needs an algorithm[\s\S]*Usage: koa-jwt-extended <command>/);
    });
  });

  describe('decode', () => {
    it('prints header and payload, times as ISO dates, and says it did not verify', async () => {
      const token = await hsToken();
      const run = cli(['decode', token]);
      assert.equal(run.code, 0, run.stderr);
      const shown = JSON.parse(run.stdout);
      const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
      assert.deepEqual([shown.verified, shown.header.alg, shown.payload.sub, shown.payload.roles], [false, 'HS256', 'alice', ['admin']]);
      assert.equal(shown.payload.exp, new Date(exp * 1000).toISOString());
      assert.match(run.stderr, /NOT VERIFIED/);
    });

    it('decodes a token whose signature is wrong (it does not verify)', async () => {
      const run = cli(['decode', await hsToken({}, 'another-secret-of-at-least-32-bytes!!')]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).payload.sub, 'alice');
    });

    it('refuses junk with the reason: exit 1', () => {
      const run = cli(['decode', 'not-a-token']);
      assert.deepEqual([run.code, run.stdout], [1, '']);
      assert.match(run.stderr, /koa-jwt-extended: not a JWT: Not enough segments/);
    });

    it('refuses a payload that is not JSON: exit 1', () => {
      const run = cli(['decode', `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.bm90IGpzb24.sig`]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /not a JWT: Invalid payload string: not valid JSON/);
    });
  });

  describe('verify', () => {
    it('a valid token with JWT_SECRET: exit 0 and the payload', async () => {
      const run = cli(['verify', await hsToken()], { JWT_SECRET: SECRET });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^valid \(HS256\)\n/);
      assert.equal(JSON.parse(run.stdout.slice(run.stdout.indexOf('\n'))).sub, 'alice');
    });

    it('a token signed with another secret: exit 1, Signature verification failed', async () => {
      const run = cli(['verify', await hsToken({}, 'another-secret-of-at-least-32-bytes!!')], { JWT_SECRET: SECRET });
      assert.deepEqual([run.code, run.stdout], [1, '']);
      assert.match(run.stderr, /invalid: Signature verification failed/);
    });

    it('an expired token: exit 1, Token has expired', async () => {
      const run = cli(['verify', await hsToken({ expiresIn: -60 })], { JWT_SECRET: SECRET });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /invalid: Token has expired/);
    });

    it('an alg none token: exit 1, the alg is not allowed', () => {
      const none = forge({ alg: 'none' }, { sub: 'admin', type: 'access', jti: 'x', exp: 9999999999 }).replace(/[^.]+$/, '');
      const run = cli(['verify', none], { JWT_SECRET: SECRET });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /invalid: The specified alg value is not allowed/);
    });

    it('junk: exit 1 with the reason', () => {
      const run = cli(['verify', 'junk'], { JWT_SECRET: SECRET });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /invalid: Not enough segments/);
    });

    it('with --public-key: the RS256 token passes; an HS256 token signed with the public PEM is refused', async () => {
      const pair = testKey('rsaA');
      writeFileSync(join(workDir, 'public.pem'), pair.publicPem);
      JwtManager.configure({ algorithm: 'RS256', privateKey: pair.privatePem });
      const good = cli(['verify', await createAccessToken('alice'), '--public-key', 'public.pem']);
      assert.equal(good.code, 0, good.stderr);
      const confused = forge({ alg: 'HS256' }, { sub: 'admin', type: 'access', jti: 'x', exp: 9999999999 }, { secret: pair.publicPem });
      const bad = cli(['verify', confused, '--public-key', 'public.pem']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid: The specified alg value is not allowed/);
    });

    it('--algorithm that does not fit the key: exit 2 with the configuration problem', () => {
      writeFileSync(join(workDir, 'public.pem'), testKey('p256').publicPem);
      const run = cli(['verify', 'a.b.c', '--public-key', 'public.pem', '--algorithm', 'RS256']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /koa-jwt-extended: publicKey/);
    });

    it('a --public-key file that is no key: exit 2', () => {
      writeFileSync(join(workDir, 'public.pem'), 'hello');
      const run = cli(['verify', 'a.b.c', '--public-key', 'public.pem']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /cannot read a public key from public\.pem/);
    });

    it('a JWT_SECRET shorter than 32 bytes: exit 2 with the problem', () => {
      const run = cli(['verify', 'a.b.c'], { JWT_SECRET: 'short' });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /secret must be at least 32 bytes/);
    });

    it('neither JWT_SECRET nor --public-key: usage, exit 2', () => {
      const run = cli(['verify', 'a.b.c']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /verify needs JWT_SECRET in the environment, or --public-key <file>[\s\S]*Usage:/);
    });

    it('without a token: usage, exit 2', () => {
      const run = cli(['verify'], { JWT_SECRET: SECRET });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /verify needs a token/);
    });
  });

  describe('the command line itself', () => {
    it('no command: usage on stderr, exit 2', () => {
      const run = cli([]);
      assert.deepEqual([run.code, run.stdout], [2, '']);
      assert.match(run.stderr, /no command given\n\nUsage: koa-jwt-extended <command>/);
    });

    it('an unknown command: exit 2', () => {
      const run = cli(['rm', '-rf']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /Usage:/);
    });

    it('an unknown option: exit 2 with parseArgs\' reason', () => {
      const run = cli(['secret', '--nope']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /Unknown option '--nope'[\s\S]*Usage:/);
    });

    it('--help: usage on stdout, exit 0', () => {
      const run = cli(['--help']);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^Usage: koa-jwt-extended <command>/);
    });
  });
});
