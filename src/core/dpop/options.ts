/**
 * The `dpop` option (RFC 9449), validated with class-validator at `configure()` and resolved
 * into a frozen `DpopConfig`. Problems are pushed, never thrown, so `configure()` lists them all.
 */
import { ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsOptional, IsString, validateSync } from 'class-validator';
import { describe, parseDuration, Duration } from '../duration';
import { normaliseOrigin } from './htu';

/** The asymmetric JWS algorithms a proof may be signed with (RFC 9449 §4.3 step 5: never `none` or an HMAC). */
export const PROOF_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'] as const;
/**
 * An algorithm a DPoP proof may be signed with.
 */
export type ProofAlgorithm = (typeof PROOF_ALGORITHMS)[number];

/** What `JwtManager.configure({ dpop })` accepts. */
export interface DpopOptions {
  /** Every guarded route needs a DPoP-bound token (`401 DPoP-bound token required` otherwise). Default false. */
  required?: boolean;
  /** The algorithms a proof may use. Default `['ES256', 'EdDSA', 'PS256', 'RS256']`. */
  algorithms?: ProofAlgorithm[];
  /** How old a proof's `iat` may be (plus `leeway`). Default `'60s'`. */
  proofMaxAge?: Duration;
  /** Proofs must carry a server nonce (RFC 9449 §8–9), stateless and shared by every instance with the same key. Default false. */
  nonce?: boolean;
  /**
   * The scheme and host `htu` is compared with, e.g. `'https://api.example.com'` (behind a proxy);
   * default: the request's own (`ctx.protocol` and `ctx.host`), never the `Origin` header.
   */
  origin?: string;
}

/** The resolved `dpop` option: defaults apply also when the option is not given (bound tokens are always checked). */
export interface DpopConfig {
  required: boolean;
  algorithms: readonly ProofAlgorithm[];
  /** `algorithms` as a set, for the per-proof check. */
  algorithmSet: ReadonlySet<string>;
  proofMaxAgeSeconds: number;
  nonce: boolean;
  /** `origin`, normalised (RFC 3986 §6.2.2–6.2.3), without a trailing slash. */
  origin: string | undefined;
}

const DEFAULT_ALGORITHMS: readonly ProofAlgorithm[] = ['ES256', 'EdDSA', 'PS256', 'RS256'];
const KNOWN = new Set(['required', 'algorithms', 'proofMaxAge', 'nonce', 'origin']);

class DpopOptionsSchema {
  @IsOptional() @IsBoolean({ message: 'dpop.required must be true or false' }) required?: boolean;
  @IsOptional() @IsBoolean({ message: 'dpop.nonce must be true or false' }) nonce?: boolean;
  @IsOptional() @IsArray({ message: 'dpop.algorithms must be a list' }) @ArrayNotEmpty({ message: 'dpop.algorithms must name at least one algorithm' })
  @IsIn(PROOF_ALGORITHMS, { each: true, message: `dpop.algorithms entries must be among ${PROOF_ALGORITHMS.join(', ')} (asymmetric only: never none or HS*)` })
  algorithms?: string[];
  @IsOptional() @IsString({ message: 'dpop.origin must be a string like https://api.example.com' }) origin?: string;
}

/**
 * Validates and resolves `dpop`. `canSign` says whether the configuration has a secret or a
 * private key, which nonces are derived from.
 *
 * @example const dpop = dpopOption({ nonce: true }, true, problems)
 */
export function dpopOption(value: unknown, canSign: boolean, problems: string[]): DpopConfig {
  const options = (value ?? {}) as Record<string, unknown>;
  if (typeof options !== 'object' || Array.isArray(options)) {
    problems.push(`dpop must be an object like { required: true }, got ${describe(value)}`);
    return resolved({});
  }
  for (const name of Object.keys(options)) if (!KNOWN.has(name)) problems.push(`unknown option 'dpop.${name}'`);
  const schema = Object.assign(new DpopOptionsSchema(), options);
  for (const error of validateSync(schema, { forbidUnknownValues: false })) problems.push(...Object.values(error.constraints ?? {}));
  const maxAge = parseDuration(options.proofMaxAge ?? '60s');
  let proofMaxAgeSeconds = 60;
  if ('problem' in maxAge) problems.push(`dpop.proofMaxAge ${maxAge.problem}`);
  else if (maxAge.seconds === false || maxAge.seconds < 1 || maxAge.seconds > 3600) problems.push('dpop.proofMaxAge must be from 1 second to 1 hour');
  else proofMaxAgeSeconds = maxAge.seconds;
  let origin: string | undefined;
  if (typeof options.origin === 'string') {
    origin = normaliseOrigin(options.origin);
    if (origin === undefined) problems.push(`dpop.origin must be an http(s) origin like 'https://api.example.com' (no path, query or fragment), got '${options.origin}'`);
  }
  if (options.nonce === true && !canSign) problems.push('dpop.nonce needs a secret or privateKey: nonces are derived from the signing key');
  return resolved({ ...options, origin, proofMaxAgeSeconds });
}

function resolved(options: Record<string, unknown>): DpopConfig {
  const algorithms = Array.isArray(options.algorithms) ? Object.freeze([...options.algorithms] as ProofAlgorithm[]) : DEFAULT_ALGORITHMS;
  return Object.freeze({
    required: options.required === true,
    algorithms,
    algorithmSet: new Set<string>(algorithms),
    proofMaxAgeSeconds: typeof options.proofMaxAgeSeconds === 'number' ? options.proofMaxAgeSeconds : 60,
    nonce: options.nonce === true,
    origin: options.origin as string | undefined,
  });
}
