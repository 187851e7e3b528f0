import assert from 'node:assert/strict';
import { JwtManager } from '../../src';
import { keyFor } from '../support/keys';
import { SECRET } from '../support/server';
import { problemsOf, assertListed } from '../support/config-problems';



const JWKS = 'https://idp.example/.well-known/jwks.json';

/** configure(): the interop options (issue 14) fail at start-up, every problem at once. */
describe('core: interop options at configure()', () => {
  afterEach(() => JwtManager.reset());

  it('defaults: verifySub true, acceptUntypedTokens false, encodeNbf true, no remote keys', () => {
    const { config } = JwtManager.configure({ secret: SECRET });
    assert.deepEqual(
      [config.verifySub, config.acceptUntypedTokens, config.encodeNbf, config.jwks, config.decodeKeyLoader],
      [true, false, true, undefined, undefined],
    );
  });

  it('jwksUri alone (RS256): verify-only, cache max age 10 minutes by default', () => {
    const { config } = JwtManager.configure({ algorithm: 'RS256', jwksUri: JWKS });
    assert.equal(config.jwks?.uri.href, JWKS);
    assert.equal(config.jwks?.cacheMaxAgeSeconds, 600);
    assert.equal(config.keys.signing.key, undefined);
  });

  it("jwksCacheMaxAge takes a duration like every other ('1h' is 3600 s)", () => {
    const { config } = JwtManager.configure({ algorithm: 'ES256', jwksUri: JWKS, jwksCacheMaxAge: '1h' });
    assert.equal(config.jwks?.cacheMaxAgeSeconds, 3600);
  });

  it('jwksUri with a privateKey to sign with is accepted', () => {
    const { config } = JwtManager.configure({ algorithm: 'RS256', jwksUri: JWKS, privateKey: keyFor('RS256').privatePem });
    assert.ok(config.keys.signing.key);
  });

  it('http:// to a loopback host is accepted (a local key service)', () => {
    assert.ok(JwtManager.configure({ algorithm: 'RS256', jwksUri: 'http://127.0.0.1:8080/jwks.json' }));
  });

  for (const [name, uri] of [['not a URL', 'idp.example/jwks'], ['plain http to another host', 'http://idp.example/jwks.json'], ['ftp', 'ftp://idp.example/jwks'], ['a number', 42]] as const) {
    it(`jwksUri ${name}: refused`, () => {
      assertListed(problemsOf({ algorithm: 'RS256', jwksUri: uri }), /^jwksUri must be an absolute https:\/\/ URL/);
    });
  }

  for (const [name, value] of [['unitless string', '600'], ['zero', 0], ['false', false], ['negative', '-5m'], ['an object', {}]] as const) {
    it(`jwksCacheMaxAge ${name}: refused`, () => {
      assertListed(problemsOf({ algorithm: 'RS256', jwksUri: JWKS, jwksCacheMaxAge: value }), /^jwksCacheMaxAge /);
    });
  }

  it('jwksCacheMaxAge without jwksUri: refused', () => {
    assertListed(problemsOf({ secret: SECRET, jwksCacheMaxAge: '5m' }), /jwksCacheMaxAge needs jwksUri/);
  });

  it('jwksUri with a secret (and the HS256 default): both problems listed', () => {
    const problems = problemsOf({ secret: SECRET, jwksUri: JWKS });
    assertListed(problems, /jwksUri cannot be used with secret/);
    assertListed(problems, /jwksUri needs asymmetric algorithms/);
  });

  it('jwksUri with a publicKey: refused', () => {
    assertListed(problemsOf({ algorithm: 'RS256', jwksUri: JWKS, publicKey: keyFor('RS256').publicPem }), /jwksUri cannot be used with publicKey/);
  });

  it('jwksUri with verificationKeys: refused', () => {
    const verificationKeys = [{ kid: 'old', publicKey: keyFor('RS256').publicPem }];
    assertListed(problemsOf({ algorithm: 'RS256', jwksUri: JWKS, verificationKeys }), /verificationKeys cannot be used with jwksUri/);
  });

  it('jwksUri and decodeKeyLoader together: refused', () => {
    assertListed(problemsOf({ algorithm: 'RS256', jwksUri: JWKS, decodeKeyLoader: () => 'k' }), /give jwksUri or decodeKeyLoader, not both/);
  });

  it('decodeKeyLoader that is not a function: refused', () => {
    assertListed(problemsOf({ secret: SECRET, decodeKeyLoader: 'tenant-keys' }), /decodeKeyLoader must be a function/);
  });

  it('decodeKeyLoader alone (no secret) is a verify-only configuration', () => {
    const { config } = JwtManager.configure({ decodeKeyLoader: () => SECRET });
    assert.equal(config.keys.signing.key, undefined);
  });

  it('audience together with encodeAudience: refused', () => {
    assertListed(problemsOf({ secret: SECRET, audience: 'a', encodeAudience: 'b' }), /give audience \(both ways\), or encodeAudience/);
  });

  it('issuer together with decodeIssuer: refused', () => {
    assertListed(problemsOf({ secret: SECRET, issuer: 'a', decodeIssuer: 'b' }), /give issuer \(both ways\), or encodeIssuer/);
  });

  for (const name of ['encodeAudience', 'decodeAudience']) {
    it(`${name} an empty list: refused`, () => {
      assertListed(problemsOf({ secret: SECRET, [name]: [] }), new RegExp(`^${name} must be a non-empty string`));
    });
  }

  it('encodeIssuer empty and decodeIssuer a number: both refused', () => {
    const problems = problemsOf({ secret: SECRET, encodeIssuer: '', decodeIssuer: 7 });
    assertListed(problems, /^encodeIssuer/);
    assertListed(problems, /^decodeIssuer/);
  });

  for (const name of ['verifySub', 'acceptUntypedTokens', 'encodeNbf']) {
    it(`${name} not a boolean: refused`, () => {
      assertListed(problemsOf({ secret: SECRET, [name]: 'false' }), new RegExp(`^${name} must be a boolean`));
    });
  }

  it('audience sets both ways; issuer too', () => {
    const { config } = JwtManager.configure({ secret: SECRET, audience: 'shop', issuer: 'https://a.example' });
    assert.deepEqual([config.audience, config.audienceClaim, config.issuer, config.issuerClaim], [['shop'], 'shop', 'https://a.example', 'https://a.example']);
  });
});
