/**
 * DESIGN 0.3 G "Nothing secret in logs", for the diagnostics channels: a subscriber that logs the
 * `refused` or `allowed` message it gets (`subscribe(REFUSED_CHANNEL, (m) => log.warn(m))`) prints
 * no token and no CSRF value, whatever the inspect options, `%o`/`%O`/`%j` or JSON.stringify. The
 * message still carries what a subscriber reads: the Koa context through `message.ctx`, the error,
 * the status, the payload without its `csrf` claim. Real HTTP: cookie logins with the CSRF double
 * submit (right and wrong CSRF header) and bearer tokens (good and forged). The context is a getter
 * over a #private field; only `getters: true` together with `showHidden` evaluates it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import { format, inspect, type InspectOptions } from 'node:util';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import {
  ALLOWED_CHANNEL, createAccessToken, JwtManager, jwtRequired, REFUSED_CHANNEL, setAccessCookies,
} from '../../src';

const OPTIONS: InspectOptions[] = [
  {},
  { depth: 10, showHidden: true },
  { depth: 10, showHidden: true, customInspect: false },
  { depth: Infinity, customInspect: false },
  { depth: 8, getters: true },
];
// `getters: true` with `showHidden` evaluates the `ctx` getter itself (as reading `message.ctx`
// does): a logger asking for that walks the context by choice; docs/opentelemetry.md says so

/** Every printed form of `value` a logger could produce. */
function printed(value: unknown): string[] {
  return [
    ...OPTIONS.map((options) => inspect(value, options)),
    format('%s %o %O %j', value, value, value, value),
    JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? '',
  ];
}

describe('security: diagnostics channel messages print no token and no CSRF value', () => {
  const secret = randomBytes(32);
  const messages: Array<{ channel: string; message: Record<string, unknown> }> = [];
  const onRefused = (message: unknown) => messages.push({ channel: 'refused', message: message as Record<string, unknown> });
  const onAllowed = (message: unknown) => messages.push({ channel: 'allowed', message: message as Record<string, unknown> });
  let server: Server;
  const secrets: string[] = [];

  before(() => {
    JwtManager.configure({ secret, tokenLocation: ['headers', 'cookies'], cookieCsrfProtect: true });
    const app = new Koa();
    const router = new Router();
    router.post('/login', async (ctx: Context) => {
      const token = await createAccessToken('alice');
      setAccessCookies(ctx, token);
      ctx.body = { ok: true };
    });
    router.all('/protected', jwtRequired(), (ctx: Context) => { ctx.body = { ok: true }; });
    app.use(router.routes());
    server = app.listen(0);
    diagnostics.subscribe(REFUSED_CHANNEL, onRefused);
    diagnostics.subscribe(ALLOWED_CHANNEL, onAllowed);
  });

  after(() => {
    diagnostics.unsubscribe(REFUSED_CHANNEL, onRefused);
    diagnostics.unsubscribe(ALLOWED_CHANNEL, onAllowed);
    server.close();
  });

  it('cookie and bearer requests, allowed and refused: the messages are published and print none of their secrets', async () => {
    const login = await request(server).post('/login').expect(200);
    const cookies = login.headers['set-cookie'] as unknown as string[];
    const cookieHeader = cookies.map((c) => c.split(';')[0]).join('; ');
    const csrf = /csrf_access_token=([^;]+)/.exec(cookieHeader)![1];
    const accessToken = /access_token_cookie=([^;]+)/.exec(cookieHeader)![1];
    const bearer = await createAccessToken('bob');
    const forged = `${bearer.slice(0, bearer.lastIndexOf('.'))}.${Buffer.alloc(32, 7).toString('base64url')}`;
    const wrongCsrf = randomBytes(16).toString('hex');
    secrets.push(csrf, accessToken, accessToken.split('.')[2], bearer, bearer.split('.')[2], forged.split('.')[2], wrongCsrf);

    await request(server).post('/protected').set('Cookie', cookieHeader).set('X-CSRF-TOKEN', csrf).expect(200);
    await request(server).post('/protected').set('Cookie', cookieHeader).set('X-CSRF-TOKEN', wrongCsrf).expect(401, { msg: 'CSRF double submit tokens do not match' });
    await request(server).get('/protected').set('Authorization', `Bearer ${bearer}`).expect(200);
    await request(server).get('/protected').set('Authorization', `Bearer ${forged}`).expect(422, { msg: 'Signature verification failed' });

    assert.deepEqual(messages.map((m) => m.channel), ['allowed', 'refused', 'allowed', 'refused']);
    for (const { channel, message } of messages) {
      // what a subscriber reads is there
      const ctx = message.ctx as Context;
      assert.equal(ctx.path, '/protected', `${channel}: message.ctx is the request's context`);
      assert.ok(ctx.get('cookie') !== '' || ctx.get('authorization') !== '', `${channel}: the context still has its headers for a subscriber that asks`);
      if (channel === 'allowed') {
        const payload = message.payload as Record<string, unknown>;
        assert.ok(['alice', 'bob'].includes(payload.sub as string), 'allowed: the payload names the identity');
        assert.equal('csrf' in payload, false, 'allowed: the payload has no csrf claim');
      } else {
        assert.ok(message.error instanceof Error, 'refused: the error');
        assert.ok(message.status === 401 || message.status === 422, 'refused: the status');
      }
      for (const text of printed(message)) {
        for (const value of secrets) assert.equal(text.includes(value), false, `${channel} message printed a secret value: ${text.slice(0, 200)}`);
      }
    }
  });
});
