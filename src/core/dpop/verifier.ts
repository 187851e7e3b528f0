/**
 * One DPoP proof verifier per configuration: RFC 9449 §4.3's checks (checks.ts) in order,
 * then the replay cache (§11.1). Lean by design, because it runs on every bound request:
 * what a header decides (typ, alg, the imported key, its thumbprint) is computed once per
 * distinct header and kept in a bounded cache (a client signs every proof with the same
 * header); the payload is parsed once; one signature verification; one SHA-256 for `ath`.
 */
import { BoundedMap } from '../bounded-map';
import type { JwtConfig } from '../options';
import {
  athMatches, htmMatches, htuMatchesRequest, iatWithinWindow, keyMatchesBinding, proofHeader, ProofHeader, requiredClaims,
  signatureVerifies, singleDpopHeader, wellFormedJwt,
} from './checks';
import { invalidProof, nonceRequired } from './errors';
import { NonceIssuer, nonceKey } from './nonce';
import type { DpopConfig } from './options';
import { MAX_PROOFS_PER_KEY, MemoryReplayCache, RecordOutcome, recordProof } from './replay';

/** What the door hands the checks: nothing of Koa. */
export interface ProofRequest {
  /** The request's method, as sent. */
  method: string;
  /** The request's URI as this server sees it: origin and path, no query. */
  uri: string;
  /** The `DPoP` header as Node gives it (repeated ones joined with ', ', or a list). */
  dpop: string | string[] | undefined;
}

/** What a route adds: the token the proof must go with, and the key it is bound to. */
export interface ProofBinding {
  token: string;
  jkt: string;
}

/** A proof that passed. */
export interface VerifiedProof {
  /** The RFC 7638 thumbprint of the proof's key. */
  thumbprint: string;
  /** The proof as sent (the door remembers it, so one request is not its own replay). */
  proof: string;
  /** With `nonce: true`, the nonce to send in `DPoP-Nonce` when the proof's one is about to age out. */
  freshNonce?: string;
}

/** Distinct proof headers (one per client key, in practice) whose checks are kept. */
const HEADER_CACHE_SIZE = 1000;
/** Replay records outlive their window by this much, so instances whose clocks differ by less agree. */
export const CLOCK_SLACK_MS = 5000;

export class DpopVerifier {
  readonly options: DpopConfig;
  private readonly headers = new BoundedMap<ProofHeader>(HEADER_CACHE_SIZE);
  private readonly memory = new MemoryReplayCache();
  private nonces: NonceIssuer | undefined;

  constructor(private readonly config: JwtConfig) {
    this.options = config.dpop;
  }

  /** The stateless nonce issuer (`nonce: true`), made on first use. */
  get nonceIssuer(): NonceIssuer | undefined {
    if (!this.options.nonce) return undefined;
    return (this.nonces ??= new NonceIssuer(nonceKey(this.config.keys.signing.key!), this.options.proofMaxAgeSeconds * 1000));
  }

  /**
   * Verifies the request's proof (`binding`: for a route, the token and its cnf.jkt; none at
   * login) and records its jti, unless `recorded` is this very proof (already recorded for
   * this request). Throws a `DpopError`, or rejects with a 503 when the replay cache cannot answer.
   *
   * @example const { thumbprint } = await verifier.verify({ method: 'POST', uri, dpop: header })
   */
  verify(request: ProofRequest, binding?: ProofBinding, recorded?: string): VerifiedProof | Promise<VerifiedProof> {
    const options = this.options;
    const proof = singleDpopHeader(request.dpop, options); // 1
    const parts = wellFormedJwt(proof, options); // 2
    const header = this.headerOf(parts.headerSegment); // 3 (header), 4, 5, 7
    signatureVerifies(header, parts, options); // 6
    const claims = requiredClaims(parts.payloadSegment, options); // 3 (claims)
    htmMatches(claims.htm, request.method, options); // 8
    htuMatchesRequest(claims.htu, request.uri, options); // 9
    const nowMs = Date.now();
    const freshNonce = this.checkNonce(claims.nonce, nowMs); // 10
    iatWithinWindow(claims.iat, nowMs / 1000, this.config.leeway, options); // 11
    if (binding !== undefined) {
      athMatches(claims.ath, binding.token, options); // 12
      keyMatchesBinding(header.thumbprint, binding.jkt, options);
    }
    const verified: VerifiedProof = { thumbprint: header.thumbprint, proof, freshNonce };
    if (recorded === proof) return verified;
    const expiresAt = (claims.iat + options.proofMaxAgeSeconds + this.config.leeway) * 1000 + CLOCK_SLACK_MS;
    const outcome = recordProof(this.config.revocation, this.memory,
      { group: header.thumbprint, key: claims.jti, expiresAt, maxPerGroup: MAX_PROOFS_PER_KEY });
    return outcome instanceof Promise ? outcome.then((settled) => this.recorded(settled, verified)) : this.recorded(outcome, verified);
  }

  private headerOf(segment: string): ProofHeader {
    let header = this.headers.get(segment);
    if (header === undefined) this.headers.set(segment, (header = proofHeader(segment, this.options)));
    return header;
  }

  /** Step 10: with `nonce: true`, the proof carries a nonce of ours that is still current; answers the one to send next, if any. */
  private checkNonce(nonce: unknown, nowMs: number): string | undefined {
    const issuer = this.nonceIssuer;
    if (issuer === undefined) return undefined;
    const standing = issuer.standing(nonce, nowMs);
    if (standing === 'invalid') {
      throw nonceRequired(issuer.current(nowMs), nonce === undefined ? 'the proof has no nonce' : 'the proof nonce is not current');
    }
    return standing === 'previous' ? issuer.current(nowMs) : undefined;
  }

  /** §11.1: a jti seen before inside the window is a replay. */
  private recorded(outcome: RecordOutcome, verified: VerifiedProof): VerifiedProof {
    if (outcome === 'seen') throw invalidProof(this.options.algorithms, 'the proof was used before (jti replay)');
    if (outcome === 'full') throw invalidProof(this.options.algorithms, 'the key has too many live proofs in the replay cache');
    return verified;
  }
}

const VERIFIERS = new WeakMap<JwtConfig, DpopVerifier>();

/**
 * The verifier of a configuration (one per `configure()`; its caches go with it).
 *
 * @example dpopVerifierFor(JwtManager.instance.config).verify(request)
 */
export function dpopVerifierFor(config: JwtConfig): DpopVerifier {
  let verifier = VERIFIERS.get(config);
  if (verifier === undefined) VERIFIERS.set(config, (verifier = new DpopVerifier(config)));
  return verifier;
}
