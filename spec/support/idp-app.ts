/**
 * A plain Koa resource server for the identity-provider specs (0.3 J): a few routes
 * behind `jwtRequired()`, and tokens signed as an outside provider signs them.
 */
import type { Server } from 'node:http';
import { randomUUID, KeyObject } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import { GuardOptions, JwtManager, JwtOptions, jwtRequired } from '../../src';
import { craftToken } from './app';

/** The routes: each path is guarded by these options. */
export const IDP_ROUTES: Record<string, GuardOptions> = {
  '/me': {},
  '/admin': { roles: ['admin'] },
};

/** Configures the manager with `options` and serves the routes on a free port. */
export function serveIdpApp(options: JwtOptions, routes: Record<string, GuardOptions> = IDP_ROUTES): Server {
  JwtManager.configure(options);
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  for (const [path, guard] of Object.entries(routes)) {
    router.get(path, jwtRequired(guard), (ctx) => {
      ctx.body = { identity: (ctx.state.jwt as { sub: unknown }).sub };
    });
  }
  app.use(router.routes());
  return app.listen(0);
}

/** The claims of an access token as an identity provider writes it: no `type`, `iss` and `aud` set. */
export function idpClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'alice', iss: 'https://idp.example', aud: 'api', jti: randomUUID(), iat: now, exp: now + 300, ...extra };
}

/** A token signed with `key` under `alg`, with `typ` and `kid` as an IdP writes them. */
export function idpToken(alg: string, key: KeyObject, options: { kid?: string; typ?: string | null; claims?: Record<string, unknown> } = {}): string {
  const header: Record<string, unknown> = { alg };
  if (options.typ !== null) header.typ = options.typ ?? 'at+jwt';
  if (options.kid !== undefined) header.kid = options.kid;
  return craftToken(header, idpClaims(options.claims), key);
}
