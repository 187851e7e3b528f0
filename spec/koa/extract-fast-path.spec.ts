/**
 * The header hot path (`Authorization: Bearer <token>`, one string, one field) answers what the
 * two full parses answer: `dpopSchemeToken` (the DPoP scheme, RFC 9449 §7.1) then
 * `tokenFromHeader` (the configured scheme). Checked on hand-picked headers and on random ones
 * built from the characters that matter (scheme letters, spaces, tabs, commas), for several
 * `headerType` / `headerName` settings, including ones whose scheme starts with a 'd'.
 */
import assert from 'node:assert/strict';
import type { Context } from 'koa';
import type { JwtConfig } from '../../src/core/options';
import { dpopSchemeToken, extractToken, tokenFromHeader } from '../../src/koa/extract';
import { prng } from '../support/prng';

/** What the full parse of the header location answers: a token (and whether by DPoP) or the refusal. */
function reference(authorization: string | string[] | undefined, other: string | undefined, config: JwtConfig): string {
  try {
    const joined = Array.isArray(authorization) ? authorization.join(', ') : authorization;
    const dpop = dpopSchemeToken(joined);
    if (dpop !== undefined) return `token ${JSON.stringify(dpop)} dpop`;
    const value = config.headerKey === 'authorization' ? joined : other;
    return `token ${JSON.stringify(tokenFromHeader(value, config))} plain`;
  } catch (error) {
    const { name, code, message } = error as Error & { code?: string };
    // extractToken re-raises a location's NoAuthorizationError as its own (one location: the same message)
    return `${name} ${name === 'NoAuthorizationError' ? 'ERR_JWT_MISSING' : code} ${message}`;
  }
}

function actual(authorization: string | string[] | undefined, other: string | undefined, config: JwtConfig): string {
  const headers: Record<string, unknown> = { authorization };
  if (config.headerKey !== 'authorization') headers[config.headerKey] = other;
  const ctx = { req: { headers }, method: 'GET' } as unknown as Context;
  try {
    const found = extractToken(ctx, config, ['headers'], 'access');
    return `token ${JSON.stringify(found.token)} ${found.dpopScheme === true ? 'dpop' : 'plain'}`;
  } catch (error) {
    const { name, code, message } = error as Error & { code?: string };
    return `${name} ${code} ${message}`;
  }
}

const configOf = (headerType: string, headerName = 'Authorization') =>
  ({ headerName, headerType, headerKey: headerName.toLowerCase() }) as JwtConfig;
const CONFIGS = [configOf('Bearer'), configOf('bearer'), configOf('JWT', 'X-Token'), configOf('Dragon'), configOf('DPoP'), configOf('dpop'), configOf(''), configOf('d')];

function assertSame(authorization: string | string[] | undefined, config: JwtConfig, other?: string): void {
  const expected = reference(authorization, other, config);
  const got = actual(authorization, other, config);
  if (got !== expected) assert.equal(got, expected, `Authorization ${JSON.stringify(authorization)}, headerType ${JSON.stringify(config.headerType)}, headerName ${config.headerName}`);
}

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('koa: the Authorization hot path answers what the full parses answer', () => {
  const HAND_PICKED: Array<string | string[] | undefined> = [
    undefined, '', `Bearer ${JWT}`, `bearer ${JWT}`, `Bearer  ${JWT}`, `Bearer ${JWT} `, ` Bearer ${JWT}`, `Bearer ${JWT},`,
    `Bearer ${JWT}, DPoP ${JWT}`, `DPoP ${JWT}`, `dpop ${JWT}`, `DPoP ${JWT}, Bearer ${JWT}`, `Dragon ${JWT}`, `d ${JWT}`,
    `Bearer ${JWT}\t`, `Bearer\t${JWT}`, `Bearer ${JWT} x`, 'Bearer ', 'Bearer', `Bearer ${JWT}\u00a0`, `Bearer ${JWT}\u2028`,
    [`Bearer ${JWT}`], [`Bearer ${JWT}`, `DPoP ${JWT}`], [`DPoP ${JWT}`, `Bearer ${JWT}`], `JWT ${JWT}`, `Basic abc, Bearer ${JWT}`,
  ];

  it('on hand-picked headers, for every headerType and headerName', () => {
    for (const config of CONFIGS) {
      for (const value of HAND_PICKED) {
        assertSame(value, config);
        assertSame(value, config, `JWT ${JWT}`); // another header name reads its own header, DPoP still Authorization
      }
    }
  });

  it('on 5 000 random headers built from schemes, white space and commas', () => {
    const random = prng(27);
    const pieces = ['Bearer', 'bearer', 'DPoP', 'dpop', 'Dragon', 'd', 'JWT', ' ', '  ', '\t', ',', ', ', JWT, 'x', '\u00a0'];
    for (let i = 0; i < 5_000; i++) {
      const length = 1 + Math.floor(random() * 5);
      let value = '';
      for (let j = 0; j < length; j++) value += pieces[Math.floor(random() * pieces.length)];
      for (const config of CONFIGS) assertSame(value, config, value);
    }
  });
});
