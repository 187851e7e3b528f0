#!/usr/bin/env node
/**
 * `npx koa-jwt-extended`: a secret, a key pair, a look inside a token, a check of a token.
 * Exit codes: 0 done (or valid), 1 refused (an invalid token, a file that exists), 2 usage.
 * Every failure is one line on stderr, never a stack trace.
 */
import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { JwtConfigurationError, JwtError } from './core/errors';
import { parseCompactToken, decodeJsonSegment } from './core/jws';
import { ASYMMETRIC_ALGORITHMS, Algorithm, EC_CURVES, SUPPORTED_ALGORITHMS } from './core/keys';
import { JwtManager } from './core/manager';

const USAGE = `Usage: koa-jwt-extended <command>

  secret                      print a strong random secret (64 random bytes, base64url)
  keys <alg> [--out <dir>]    write a PEM key pair for RS256..RS512, PS256..PS512, ES256..ES512, EdDSA
                              into <dir> (default .): jwt-<alg>-private.pem, jwt-<alg>-public.pem
  decode <token>              print a token's header and payload, times as ISO dates (NOT verified)
  verify <token>              verify a token with JWT_SECRET (HS*) or --public-key <file>
         [--algorithm <alg>]  default HS256 with JWT_SECRET; with a key, RS256 or the EC key's ES*
`;

/** Bad command line: exit 2, with the usage unless the message says it all. */
class UsageError extends Error {
  constructor(message: string, readonly showUsage = true) {
    super(message);
  }
}

/** A refusal the user should read (an invalid token, a file in the way): exit 1. */
class Refusal extends Error {}

const MAX_TOKEN_LENGTH = 64 * 1024;
/** The claims shown as dates. */
const TIME_CLAIMS = ['iat', 'nbf', 'exp'] as const;

function printSecret(): void {
  console.log(randomBytes(64).toString('base64url'));
}

function generatePair(algorithm: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const curve = EC_CURVES[algorithm];
  if (curve !== undefined) return generateKeyPairSync('ec', { namedCurve: curve });
  if (algorithm === 'EdDSA') return generateKeyPairSync('ed25519');
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** Creates `--out` (and its parents) when missing; private to the user, as the key in it will be. */
function makeOutDir(outDir: string): void {
  if (existsSync(outDir)) {
    if (!statSync(outDir).isDirectory()) throw new Refusal(`${outDir} exists and is not a directory`);
    return;
  }
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
}

function writeKeys(algorithm: string | undefined, outDir: string): void {
  if (algorithm === undefined) throw new UsageError('keys needs an algorithm, e.g. keys RS256');
  if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(algorithm)) {
    const why = algorithm.startsWith('HS') ? `${algorithm} uses a shared secret, not a key pair: run \`koa-jwt-extended secret\`` : `unknown algorithm '${algorithm}'`;
    throw new UsageError(`${why} (key pairs: ${ASYMMETRIC_ALGORITHMS.join(', ')})`, false);
  }
  makeOutDir(outDir);
  const privatePath = join(outDir, `jwt-${algorithm}-private.pem`);
  const publicPath = join(outDir, `jwt-${algorithm}-public.pem`);
  for (const path of [privatePath, publicPath]) if (existsSync(path)) throw new Refusal(`${path} exists; not overwriting it`);
  const { privateKey, publicKey } = generatePair(algorithm);
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  console.log(`wrote ${privatePath} (keep it secret) and ${publicPath}`);
  console.log(`JwtManager.configure({ algorithm: '${algorithm}', privateKey: readFileSync('${privatePath}'), publicKey: readFileSync('${publicPath}') })`);
}

/** The payload with `iat`/`nbf`/`exp` as ISO dates (numbers that are no date stay as they are). */
function withDates(payload: Record<string, unknown>): Record<string, unknown> {
  const shown = { ...payload };
  for (const claim of TIME_CLAIMS) {
    const value = shown[claim];
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 8.64e12) shown[claim] = new Date(value * 1000).toISOString();
  }
  return shown;
}

function requireToken(command: string, token: string | undefined): string {
  if (token === undefined || token === '') throw new UsageError(`${command} needs a token`);
  return token.trim();
}

function decode(token: string): void {
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    const parsed = parseCompactToken(token, MAX_TOKEN_LENGTH);
    header = parsed.header;
    payload = decodeJsonSegment(parsed.payloadSegment, 'payload');
  } catch (error) {
    throw new Refusal(`not a JWT: ${(error as Error).message}`);
  }
  console.error('NOT VERIFIED: this is what the token says, not whether it is valid (use `verify`).');
  console.log(JSON.stringify({ verified: false, header, payload: withDates(payload) }, null, 2));
}

/** The algorithm a public key verifies by default: its curve's ES*, else RS256. */
function defaultAlgorithm(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType === 'ed25519') return 'EdDSA';
  const curve = publicKey.asymmetricKeyDetails?.namedCurve;
  const match = Object.entries(EC_CURVES).find(([, name]) => name === curve);
  return match ? match[0] : 'RS256';
}

function readPublicKey(file: string): KeyObject {
  try {
    return createPublicKey(readFileSync(file));
  } catch (error) {
    throw new UsageError(`cannot read a public key from ${file}: ${(error as Error).message}`, false);
  }
}

function configureVerifier(options: { algorithm?: string; 'public-key'?: string }): void {
  const file = options['public-key'];
  const secret = process.env.JWT_SECRET;
  if (file === undefined && (secret === undefined || secret === '')) throw new UsageError('verify needs JWT_SECRET in the environment, or --public-key <file>');
  const publicKey = file === undefined ? undefined : readPublicKey(file);
  const algorithm = options.algorithm ?? (publicKey ? defaultAlgorithm(publicKey) : 'HS256');
  if (!SUPPORTED_ALGORITHMS.includes(algorithm)) throw new UsageError(`unknown algorithm '${algorithm}' (${SUPPORTED_ALGORITHMS.join(', ')})`, false);
  try {
    JwtManager.configure(publicKey ? { algorithm: algorithm as Algorithm, publicKey } : { algorithm: algorithm as Algorithm, secret });
  } catch (error) {
    if (error instanceof JwtConfigurationError) throw new UsageError(error.problems.join('; '), false);
    throw error;
  }
}

async function verify(token: string, options: { algorithm?: string; 'public-key'?: string }): Promise<void> {
  configureVerifier(options);
  try {
    const payload = await JwtManager.instance.decodeToken(token);
    console.log(`valid (${JwtManager.instance.config.keys.signing.algorithm})`);
    console.log(JSON.stringify(withDates(payload), null, 2));
  } catch (error) {
    if (error instanceof JwtError) throw new Refusal(`invalid: ${error.message}`);
    throw error;
  }
}

async function run(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { algorithm: { type: 'string' }, 'public-key': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, argument, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (command === 'secret' && argument === undefined) return printSecret();
  if (command === 'keys') return writeKeys(argument, values.out ?? '.');
  if (command === 'decode') return decode(requireToken('decode', argument));
  if (command === 'verify') return verify(requireToken('verify', argument), values);
  throw new UsageError(command === undefined ? 'no command given' : `unknown command '${[command, argument].filter(Boolean).join(' ')}'`);
}

/**
 * Runs the command line and resolves with the exit code; never throws.
 *
 * @example process.exitCode = await main(process.argv.slice(2))
 */
export async function main(args: string[]): Promise<number> {
  try {
    await run(args);
    return 0;
  } catch (error) {
    // parseArgs' own errors (an unknown or incomplete option) are usage errors too
    const usage = error instanceof UsageError || String((error as { code?: unknown } | undefined)?.code).startsWith('ERR_PARSE_ARGS');
    console.error(`koa-jwt-extended: ${error instanceof Error ? error.message : String(error)}`);
    if (usage && !(error instanceof UsageError && !error.showUsage)) process.stderr.write(`\n${USAGE}`);
    return usage ? 2 : 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
