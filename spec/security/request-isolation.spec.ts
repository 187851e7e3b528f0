/**
 * One request never sees another's identity (DESIGN 0.3 G, THREATS "state that outlives
 * its request"): alice's request, then anonymous ones on the same connection (one
 * keep-alive socket, and pipelined on a raw socket), through every door: a plain Koa
 * handler calling verifyJwtInRequest(), jwtRequired(), the decorators, and a directly
 * called `@JwtRequired({ roles: ['admin'] })` method. CI runs this on Node 20, 22 and 24.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { Get, JsonController, useKoaServer } from 'routing-controllers';
import * as library from '../../src';
import { getJwtIdentity, JwtManager, JwtRequired, jwtRequired, verifyJwtInRequest } from '../../src';
import { authHeader, fakeAccessToken, JwtHttpError, withToken } from '../../src/testing';
import { ONE_CONNECTION, SocketRequest, SocketResponse } from '../support/sockets';
import { SECRET } from '../support/server';

/** The per-request scope middleware (absent before 0.3). */
const jwtContext = (library as Record<string, unknown>).jwtContext as (() => Koa.Middleware) | undefined;

/** What a getter gives, or the message it throws. */
function read(getter: () => unknown): unknown {
  try {
    return getter() ?? null;
  } catch (error) {
    return { threw: (error as Error).message };
  }
}

@JsonController()
class PayrollController {
  @Get('/rc/payroll')
  @JwtRequired({ roles: ['admin'] })
  payroll() {
    return { payroll: 'for admins', reader: getJwtIdentity() };
  }
}
const payroll = new PayrollController();

/** A guarded method called from a handler: its answer, or its refusal's status and body. */
async function callPayroll(ctx: Koa.Context): Promise<void> {
  try {
    ctx.body = await payroll.payroll();
  } catch (error) {
    if (!(error instanceof JwtHttpError)) throw error;
    ctx.status = error.status;
    ctx.body = error.body;
  }
}

@JsonController('/rc')
class GuardedController {
  @Get('/me')
  @JwtRequired()
  me() {
    return { getter: read(getJwtIdentity) };
  }

  /** An open route of a class with guarded methods. */
  @Get('/open')
  open() {
    return { getter: read(getJwtIdentity) };
  }
}

@JsonController('/rc')
class OpenController {
  /** An open route of a class without any guard, calling the guarded method directly. */
  @Get('/plain-open')
  async plainOpen() {
    try {
      return { getter: read(getJwtIdentity), payroll: await payroll.payroll() };
    } catch (error) {
      return { getter: read(getJwtIdentity), refused: (error as JwtHttpError).status };
    }
  }
}

function app(scoped: boolean): Server {
  JwtManager.configure({ secret: SECRET });
  const koa = new Koa();
  koa.silent = true;
  if (scoped) koa.use(jwtContext!());
  const router = new Router();
  router.get('/verify', async (ctx) => {
    const payload = await verifyJwtInRequest(ctx, { optional: true });
    ctx.body = { sub: payload?.sub ?? null, getter: read(getJwtIdentity), state: ctx.state.jwt?.sub ?? null };
  });
  router.get('/verify-payroll', async (ctx) => {
    await verifyJwtInRequest(ctx);
    await callPayroll(ctx);
  });
  router.get('/guarded', jwtRequired(), (ctx) => {
    ctx.body = { getter: read(getJwtIdentity) };
  });
  router.get('/peek', (ctx) => {
    ctx.body = { getter: read(getJwtIdentity), state: ctx.state.jwt?.sub ?? null };
  });
  router.get('/payroll', callPayroll);
  koa.use(router.routes());
  useKoaServer(koa, { controllers: [PayrollController, GuardedController, OpenController] });
  return koa.listen(0);
}

/** Every anonymous request that could read a leftover identity. */
const ANONYMOUS: SocketRequest[] = [
  { path: '/peek' }, { path: '/payroll' }, { path: '/verify' }, { path: '/rc/open' }, { path: '/rc/plain-open' }, { path: '/rc/payroll' },
  { path: '/verify-payroll' }, { path: '/guarded' }, { path: '/rc/me' },
];

/** The doors alice comes through first. */
const ALICE_FIRST = ['/verify', '/verify-payroll', '/guarded', '/rc/me', '/rc/payroll', '/payroll'];

const NEEDS_SCOPE = /outside a protected request.*app\.use\(jwtContext\(\)\)/s;

/** Alice's own request: served as her, except where a getter or a direct call has no context of the request to read. */
function assertAlice(path: string, scoped: boolean, alice: SocketResponse): void {
  const body = alice.body as Record<string, unknown>;
  if (path === '/verify') {
    assert.deepEqual([alice.status, body.sub, body.state], [200, 'alice', 'alice']);
    if (scoped) assert.equal(body.getter, 'alice');
    else assert.match((body.getter as { threw: string }).threw, NEEDS_SCOPE);
  } else if (path === '/verify-payroll' || path === '/payroll') {
    // a direct call checks the request's own token when the request has a context; without one, it has no token at all
    if (scoped) assert.deepEqual([alice.status, body], [200, { payroll: 'for admins', reader: 'alice' }]);
    else assert.deepEqual([alice.status, body], [401, { msg: 'Missing Authorization Header' }]);
  } else {
    assert.equal(alice.status, 200, JSON.stringify(body));
    assert.ok(JSON.stringify(body).includes('alice'), JSON.stringify(body));
  }
}

function assertNoAlice(anonymous: SocketResponse[]): void {
  anonymous.forEach((response, i) => {
    const path = ANONYMOUS[i].path;
    assert.ok(!JSON.stringify(response.body).includes('alice'), `${path} answered an anonymous request with alice: ${JSON.stringify(response.body)}`);
    if (/payroll|guarded|\/rc\/me/.test(path)) assert.equal(response.status, 401, `${path} must refuse the anonymous request`);
    else assert.equal(response.status, 200, `${path}: ${JSON.stringify(response.body)}`);
  });
}

describe('security: one request never sees another\'s identity', () => {
  let server: Server | undefined;
  let aliceHeaders: Record<string, string>;
  afterEach(() => {
    server?.close();
    server = undefined;
    JwtManager.reset();
  });

  for (const scoped of jwtContext ? [false, true] : [false]) {
    for (const [transport, send] of Object.entries(ONE_CONNECTION)) {
      for (const first of ALICE_FIRST) {
        it(`${scoped ? 'with' : 'without'} jwtContext(), ${transport}: alice at ${first}, then every door anonymously`, async () => {
          server = app(scoped);
          aliceHeaders = authHeader(await fakeAccessToken('alice', { claims: { roles: ['admin'] } }));
          const [alice, ...anonymous] = await send(server, [{ path: first, headers: aliceHeaders }, ...ANONYMOUS]);
          assertAlice(first, scoped, alice);
          assertNoAlice(anonymous);
        });
      }
    }
  }

  it('withToken: the token is seen inside the call only, concurrent calls each see their own', async () => {
    JwtManager.configure({ secret: SECRET });
    const [alice, bob] = [await fakeAccessToken('alice', { claims: { roles: ['admin'] } }), await fakeAccessToken('bob', { claims: { roles: ['admin'] } })];
    const seen = await Promise.all([withToken(alice, () => payroll.payroll()), withToken(bob, () => payroll.payroll())]);
    assert.deepEqual(seen.map((s) => s.reader), ['alice', 'bob']);
    await assert.rejects(Promise.resolve(payroll.payroll()), (error: JwtHttpError) => error.status === 401);
    assert.match(String((read(getJwtIdentity) as { threw: string }).threw), /outside a protected request/);
  });
});
