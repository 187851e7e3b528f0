/** Shared by the Koa specs: a real server for a few controllers, and Set-Cookie parsing. */
import 'reflect-metadata';
import Koa from 'koa';
import type { Server } from 'node:http';
import assert from 'node:assert/strict';
import request, { type Response } from 'supertest';
import { useKoaServer } from 'routing-controllers';
import { JwtManager, JwtOptions } from '../../src';
import { CookieController } from './cookie-routes';

export const SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

/** Configures the manager, serves `controllers` on a fresh Koa app, listens on a free port. */
export function startServer(controllers: Function[], options: Partial<JwtOptions> = {}, setup: (app: Koa) => void = () => {}): Server {
  JwtManager.configure({ secret: SECRET, ...options });
  const app = new Koa();
  app.silent = true;
  setup(app);
  useKoaServer(app, { controllers, defaultErrorHandler: true });
  return app.listen(0);
}

export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names lowercased; flags map to `true`. */
  attributes: Record<string, string | true>;
}

/** The response's Set-Cookie headers, by cookie name. */
export function setCookies(res: Response): Record<string, SetCookie> {
  const headers = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const parsed: Record<string, SetCookie> = {};
  for (const header of headers) {
    const [pair, ...rest] = header.split(/;\s*/);
    const eq = pair.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const attribute of rest) {
      const at = attribute.indexOf('=');
      if (at < 0) attributes[attribute.toLowerCase()] = true;
      else attributes[attribute.slice(0, at).toLowerCase()] = attribute.slice(at + 1);
    }
    parsed[pair.slice(0, eq)] = { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
  }
  return parsed;
}

/** A Cookie request header carrying every cookie a response set. */
export function cookieHeader(res: Response): string {
  return Object.values(setCookies(res)).map((c) => `${c.name}=${c.value}`).join('; ');
}

/** The cookie specs' shared set-up: a CookieController server per test, and a login that sets the cookies. */
export function cookieHarness() {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });
  const current = (): Server => {
    if (!server) throw new Error('call start() first');
    return server;
  };
  return {
    get server(): Server {
      return current();
    },
    start(options: Partial<JwtOptions> = {}, setup?: (app: Koa) => void): void {
      server = startServer([CookieController], options, setup);
    },
    async login(query = ''): Promise<Response> {
      const res = await request(current()).post(`/ck/login${query}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { login: true });
      return res;
    },
  };
}
