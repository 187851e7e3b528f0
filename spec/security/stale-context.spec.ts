/**
 * A request's context ends with its response (issue #20, F2): an async resource created during
 * alice's request (a worker `setInterval` started lazily by her handler) keeps her
 * AsyncLocalStorage context; once her response has ended (or her connection closed), work it
 * runs for anyone else sees no context: the getters throw the JwtUsageError they throw outside a
 * request, and a directly called guarded method is checked as a call outside any request (401
 * Missing Authorization Header, as a background job). Until then the context works: in the
 * handler, in downstream middleware, in upstream middleware after `await next()` (before Koa
 * writes the body), and in a timer that fires while the response is still open (a handler
 * awaiting it, or `ctx.respond = false` with the handler ending `ctx.res` later).
 * Through the decorators, jwtRequired() + jwtContext(), and verifyJwtInRequest(). CI runs it on Node 20, 22, 24.
 */
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { Get, JsonController, useKoaServer } from 'routing-controllers';
import {
  createAccessToken, createRefreshToken, getJwtIdentity, Identity, jwtContext, JwtManager, JwtRequired, jwtRequired, JwtUsageError, MemoryTokenStore,
  rotateRefreshToken, runOutsideRequest, verifyJwtInRequest,
} from '../../src';
import { JwtHttpError } from '../../src/testing';
import { SECRET } from '../support/server';

/** A background worker: jobs queued from anywhere run in the context of the request that started it. */
class Worker {
  private queue: Array<() => Promise<void>> = [];
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    this.timer ??= setInterval(() => void this.queue.shift()?.(), 2);
  }
  run<T>(job: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.queue.push(async () => {
      try { resolve(await job()); } catch (error) { reject(error); }
    }));
  }
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What a job gives, or what it threw (class, status, body, message). */
async function outcome(job: () => unknown): Promise<unknown> {
  try {
    return { value: await job() };
  } catch (error) {
    if (error instanceof JwtHttpError) return { threw: 'JwtHttpError', status: error.status, body: error.body };
    if (error instanceof JwtUsageError) return { threw: 'JwtUsageError', message: /outside a protected request/.test(error.message) };
    return { threw: String(error) };
  }
}

const OUTSIDE = { threw: 'JwtUsageError', message: true };
const MISSING = { threw: 'JwtHttpError', status: 401, body: { msg: 'Missing Authorization Header' } };

class AccountService {
  @JwtRequired()
  async deleteAccount(@Identity() who?: string) {
    return `deleted account of ${who} (getJwtIdentity=${getJwtIdentity()})`;
  }
}
const service = new AccountService();
const worker = new Worker();
const outsideWorker = new Worker();
const ALICE_DELETED = { value: 'deleted account of alice (getJwtIdentity=alice)' };

@JsonController('/sc')
class StaleController {
  @Get('/warm')
  @JwtRequired()
  async warm() {
    worker.start();
    // the worker's jobs while this response is still open: alice's
    return { call: await outcome(() => worker.run(() => service.deleteAccount())), getter: await outcome(() => worker.run(getJwtIdentity)) };
  }

  /** The same lazily started worker, started with runOutsideRequest(): even while alice's response is open its jobs run as no one. */
  @Get('/warm-outside')
  @JwtRequired()
  async warmOutside() {
    runOutsideRequest(() => outsideWorker.start());
    return { call: await outcome(() => outsideWorker.run(() => service.deleteAccount())), getter: await outcome(() => outsideWorker.run(getJwtIdentity)) };
  }

  /** An open route queueing a job for the worker. */
  @Get('/job')
  async job() {
    return { call: await outcome(() => worker.run(() => service.deleteAccount())), getter: await outcome(() => worker.run(getJwtIdentity)) };
  }
}

let late: unknown;
let afterClose: unknown;

function app(): Server {
  JwtManager.configure({ secret: SECRET });
  const koa = new Koa();
  koa.silent = true;
  koa.use(jwtContext());
  koa.use(async (ctx, next) => {
    await next();
    // upstream, after the route ran and before Koa writes the body
    if (ctx.path === '/k/verify') ctx.set('x-after', JSON.stringify(await outcome(getJwtIdentity)));
  });
  const router = new Router();
  router.get('/k/me', jwtRequired(), async (ctx, next) => {
    ctx.state.downstream = await outcome(getJwtIdentity);
    await next();
  }, async (ctx) => {
    worker.start();
    ctx.body = { downstream: ctx.state.downstream, getter: await outcome(() => worker.run(getJwtIdentity)), call: await outcome(() => worker.run(() => service.deleteAccount())) };
  });
  router.get('/k/verify', async (ctx) => {
    await verifyJwtInRequest(ctx);
    worker.start();
    ctx.body = { getter: await outcome(() => worker.run(getJwtIdentity)), call: await outcome(() => worker.run(() => service.deleteAccount())) };
  });
  router.get('/k/raw', jwtRequired(), (ctx) => {
    // the handler answers itself, later: the context lasts until it ends the response
    ctx.respond = false;
    ctx.res.writeHead(200, { 'content-type': 'application/json' });
    setTimeout(() => ctx.res.end(JSON.stringify({ open: read() })), 10);
    setTimeout(() => (late = read()), 40);
  });
  router.get('/k/hang', jwtRequired(), async (ctx) => {
    worker.start();
    await new Promise((resolve) => ctx.req.socket.once('close', resolve));
    afterClose = await outcome(() => worker.run(getJwtIdentity));
    ctx.body = {};
  });
  koa.use(router.routes());
  useKoaServer(koa, { controllers: [StaleController] });
  return koa.listen(0);
}

function read(): unknown {
  try {
    return getJwtIdentity();
  } catch (error) {
    return { threw: (error as Error).name };
  }
}

interface Answer { status: number; body: any; headers: http.IncomingHttpHeaders }
function get(server: Server, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    http.get({ port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: body ? JSON.parse(body) : undefined, headers: res.headers }));
    }).on('error', reject);
  });
}

/** One request with a bearer token, on a connection of its own. */
function send(server: Server, method: string, path: string, token: string): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    http.request({ port, path, method, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: body ? JSON.parse(body) : undefined, headers: res.headers }));
    }).on('error', reject).end();
  });
}

/** A koa app with a refresh route `/rotate` and an access route `/me` beside `add`'s routes. */
function refreshApp(add: (router: Router) => void): Server {
  const koa = new Koa();
  koa.silent = true;
  const router = new Router();
  add(router);
  router.post('/rotate', jwtRequired({ refresh: true }), async (ctx) => {
    ctx.body = await rotateRefreshToken();
  });
  router.get('/me', jwtRequired(), (ctx) => {
    ctx.body = { who: getJwtIdentity() };
  });
  koa.use(router.routes());
  return koa.listen(0);
}

const until = async (done: () => boolean) => { while (!done()) await new Promise((r) => setTimeout(r, 5)); };

describe('security: a request\'s context ends with its response (#20 F2)', () => {
  let server: Server;
  let alice: Record<string, string>;
  beforeEach(async () => {
    server = app();
    alice = { authorization: `Bearer ${await createAccessToken('alice')}` };
    late = afterClose = undefined;
  });
  afterEach(() => {
    worker.stop();
    outsideWorker.stop();
    server.close();
    JwtManager.reset();
  });

  it('a background job outside any request is refused (the baseline a stale context must equal)', async () => {
    assert.deepEqual(await outcome(() => service.deleteAccount()), MISSING);
    assert.deepEqual(await outcome(getJwtIdentity), OUTSIDE);
  });

  it('decorators: the worker alice\'s @JwtRequired() route started runs as alice while her response is open, as no one after', async () => {
    const during = await get(server, '/sc/warm', alice);
    assert.deepEqual([during.status, during.body], [200, { call: ALICE_DELETED, getter: { value: 'alice' } }]);
    assert.deepEqual(await outcome(() => worker.run(() => service.deleteAccount())), MISSING);
    assert.deepEqual(await outcome(() => worker.run(getJwtIdentity)), OUTSIDE);
  });

  it('decorators: an anonymous request\'s job run by that worker is refused (the PoC)', async () => {
    assert.equal((await get(server, '/sc/warm', alice)).status, 200);
    const job = await get(server, '/sc/job');
    assert.deepEqual([job.status, job.body], [200, { call: MISSING, getter: OUTSIDE }]);
  });

  it("runOutsideRequest(): a worker alice's request starts with it runs no job as alice, even while her response is open (the limit AsyncLocalStorage leaves: outside attack helper-32)", async () => {
    const during = await get(server, '/sc/warm-outside', alice);
    assert.deepEqual([during.status, during.body], [200, { call: MISSING, getter: OUTSIDE }]);
  });

  it('jwtRequired() + jwtContext(): downstream middleware and the worker during the response see alice; the worker after sees no one', async () => {
    const during = await get(server, '/k/me', alice);
    assert.equal(during.status, 200, JSON.stringify(during.body));
    assert.deepEqual(during.body, { downstream: { value: 'alice' }, getter: { value: 'alice' }, call: ALICE_DELETED });
    assert.deepEqual(await outcome(() => worker.run(getJwtIdentity)), OUTSIDE);
    assert.deepEqual(await outcome(() => worker.run(() => service.deleteAccount())), MISSING);
  });

  it('verifyJwtInRequest(): upstream middleware after next() and the worker see alice during her request, as no one after', async () => {
    const during = await get(server, '/k/verify', alice);
    assert.deepEqual([during.status, during.body], [200, { getter: { value: 'alice' }, call: ALICE_DELETED }]);
    assert.deepEqual(JSON.parse(String(during.headers['x-after'])), { value: 'alice' });
    assert.deepEqual(await outcome(() => worker.run(getJwtIdentity)), OUTSIDE);
    assert.deepEqual(await outcome(() => worker.run(() => service.deleteAccount())), MISSING);
  });

  it('ctx.respond = false: a timer before the handler ends ctx.res sees alice, one after sees no one', async () => {
    const during = await get(server, '/k/raw', alice);
    assert.deepEqual([during.status, during.body], [200, { open: 'alice' }]);
    await until(() => late !== undefined);
    assert.deepEqual(late, { threw: 'JwtUsageError' });
  });

  it('a closed connection ends the context: the handler still awaiting sees no one', async () => {
    const { port } = server.address() as AddressInfo;
    const request = http.get({ port, path: '/k/hang', headers: alice, agent: false });
    request.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 30));
    request.destroy();
    await until(() => afterClose !== undefined);
    assert.deepEqual(afterClose, OUTSIDE);
  });
});

describe("security: a refresh route's scope ends with its response too (#20 F2, outside attack helper-32)", () => {
  let server: Server;
  const jobs = new Worker();
  beforeEach(() => {
    JwtManager.configure({ secret: SECRET, revocation: { store: new MemoryTokenStore(), checks: 'all', refreshRotation: true, reuseIntervalSeconds: 0 } });
    server = refreshApp((router) => {
      // the fje pattern (mint an access token from the refresh route), starting a job queue lazily
      router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => {
        jobs.start();
        await jobs.run(() => 'audit');
        ctx.body = { access: await createAccessToken(getJwtIdentity()!) };
      });
    });
  });
  afterEach(() => {
    jobs.stop();
    server.close();
    JwtManager.reset();
  });
  const call = (method: string, path: string, token: string) => send(server, method, path, token);

  it("a job queued after alice's refresh response ended mints for bob, and alice's rotated pair keeps working (the PoC revoked her family)", async () => {
    const refresh = await createRefreshToken('alice');
    assert.equal((await call('POST', '/refresh', refresh)).status, 200);
    const pair = (await call('POST', '/rotate', refresh)).body as { accessToken: string; refreshToken: string };
    assert.equal(typeof pair.refreshToken, 'string');
    // the queue still runs in alice's refresh scope: her refresh token is used now
    assert.deepEqual(await outcome(() => jobs.run(() => createAccessToken('bob').then(() => 'minted'))), { value: 'minted' });
    assert.deepEqual((await call('GET', '/me', pair.accessToken)).body, { who: 'alice' });
    assert.equal((await call('POST', '/rotate', pair.refreshToken)).status, 200);
  });
});

describe('security: a used refresh token mints nothing after its response ended (#20 F2, outside attack helper-35)', () => {
  let server: Server;
  let gate: () => void = () => undefined;
  let response: http.ServerResponse | undefined;
  let minted: Record<string, unknown> | undefined;
  const others: string[] = [];
  beforeEach(() => {
    JwtManager.configure({
      secret: SECRET,
      revocation: { store: new MemoryTokenStore(), checks: 'all', refreshRotation: true, reuseIntervalSeconds: 60, maxSessionLifetime: 120 },
    });
    minted = undefined;
    response = undefined;
    others.length = 0;
    server = refreshApp((router) => {
      // a slow refresh route (the fje pattern) whose minted token also leaves by another way (a push, a log)
      router.post('/slow', jwtRequired({ refresh: true }), async (ctx) => {
        const who = getJwtIdentity()!; // read while the request is open: after, the getters throw
        response = ctx.res;
        await new Promise<void>((resolve) => (gate = resolve));
        try {
          const token = await createAccessToken(who);
          minted = { token };
          others.push(await createAccessToken('bob')); // a job for someone else: not this token's business
        } catch (error) {
          minted = { code: (error as { code?: string }).code };
        }
        ctx.body = minted;
      });
    });
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });
  const call = (method: string, path: string, token: string) => send(server, method, path, token);
  /** Presents `token` to /slow, aborts the client while the route waits, then lets the route mint. */
  async function abortThenMint(token: string): Promise<void> {
    response = undefined;
    const { port } = server.address() as AddressInfo;
    const request = http.request({ port, path: '/slow', method: 'POST', headers: { authorization: `Bearer ${token}` }, agent: false });
    request.on('error', () => undefined);
    request.end();
    await until(() => response !== undefined);
    request.destroy();
    await until(() => response!.destroyed);
    gate();
    await until(() => minted !== undefined);
  }

  it('a used (rotated) token whose client aborted mints no access token for its identity; the family is revoked (the PoC minted a live one)', async () => {
    const refresh = await createRefreshToken('alice');
    const pair = (await call('POST', '/rotate', refresh)).body as { accessToken: string };
    await abortThenMint(refresh);
    assert.deepEqual(minted, { code: 'ERR_JWT_REVOKED' });
    assert.equal((await call('GET', '/me', pair.accessToken)).status, 401); // reuse revoked the family
  });

  it('the same route with the client still there: refused as reuse too (the baseline)', async () => {
    const refresh = await createRefreshToken('alice');
    await call('POST', '/rotate', refresh);
    const answer = call('POST', '/slow', refresh);
    await until(() => response !== undefined);
    gate();
    assert.equal((await answer).status, 401);
    assert.deepEqual(minted, { code: 'ERR_JWT_REVOKED' });
  });

  it('an unused token whose client aborted still mints (the fje pattern), capped at its session and for bob too', async () => {
    const refresh = await createRefreshToken('alice');
    const started = (await JwtManager.instance.decodeToken(refresh)).iat as number;
    await abortThenMint(refresh);
    const token = minted!.token as string;
    assert.equal(typeof token, 'string');
    assert.deepEqual((await call('GET', '/me', token)).body, { who: 'alice' });
    assert.ok(((await JwtManager.instance.decodeToken(token)).exp as number) <= started + 120); // the access lifetime (15 min) capped at the session
    assert.equal(others.length, 1);
    assert.deepEqual((await call('GET', '/me', others[0]!)).body, { who: 'bob' });
  });
});

/** A memory store whose next rotation fails as a dropped connection would. */
class HiccupStore extends MemoryTokenStore {
  failNext = false;
  override async useRefreshToken(use: Parameters<MemoryTokenStore['useRefreshToken']>[0]): ReturnType<MemoryTokenStore['useRefreshToken']> {
    if (!this.failNext) return super.useRefreshToken(use);
    this.failNext = false;
    throw new Error('read ECONNRESET');
  }
}

describe('security: an honest retry whose client went away still gets its pair; work left behind is not the token\'s (#20/#21, outside attacks helper-37 and helper-39)', () => {
  let server: Server;
  let slow = false;
  let answered: http.ServerResponse | undefined;
  let release: () => void = () => undefined;
  let store: HiccupStore;
  const later = new Worker();
  beforeEach(() => {
    slow = false;
    answered = undefined;
    store = new HiccupStore();
    JwtManager.configure({
      secret: SECRET,
      revocation: { store, refreshRotation: true, reuseIntervalSeconds: 60, maxSessionLifetime: 120 },
      userClaimsLoader: async () => {
        if (slow) await new Promise((r) => setTimeout(r, 150)); // a database behind the claims: the client gives up meanwhile
        return {};
      },
    });
    const koa = new Koa();
    koa.silent = true;
    koa.use(async (ctx, next) => {
      await next();
      // a middleware in front of the guard that renews from what the guard left on the state
      if ((ctx.path === '/renew' || ctx.path === '/refresh') && ctx.state.jwt !== undefined) ctx.set('x-renewed', await createAccessToken(String(ctx.state.jwt.sub)));
    });
    koa.use(jwtContext());
    const router = new Router();
    router.post('/refresh', jwtRequired({ refresh: true }), async (ctx) => {
      answered = ctx.res;
      later.start(); // lazily: the worker keeps this request's scope
      ctx.body = await rotateRefreshToken();
    });
    router.post('/hold', jwtRequired({ refresh: true }), async (ctx) => {
      answered = ctx.res;
      later.start(); // lazily, in this request: the worker keeps its scope
      await new Promise<void>((resolve) => (release = resolve)); // the route goes on after its client has gone
      ctx.body = {};
    });
    router.post('/leak', jwtRequired({ refresh: true }), (ctx) => {
      answered = ctx.res;
      ctx.res.writeHead(200, { 'content-type': 'application/json' });
      ctx.res.write(JSON.stringify({ who: getJwtIdentity() })); // the owner's data is out ...
      throw new Error('and then the handler fails');
    });
    router.post('/first', jwtRequired({ refresh: true }), async (ctx) => {
      answered = ctx.res;
      const pair = await rotateRefreshToken();
      await createAccessToken(getJwtIdentity()!); // after this request's own first rotation: the route's business
      ctx.body = pair;
    });
    router.post('/verify', async (ctx) => {
      answered = ctx.res;
      if (slow) await new Promise((r) => setTimeout(r, 150)); // an upstream await (a body parser) the client does not wait for
      await verifyJwtInRequest(ctx, { refresh: true });
      ctx.body = await rotateRefreshToken();
    });
    router.post('/renew', jwtRequired({ refresh: true }), (ctx) => {
      ctx.body = { who: getJwtIdentity() }; // does not rotate: a used token here is reuse
    });
    router.get('/me', jwtRequired(), (ctx) => {
      ctx.body = { who: getJwtIdentity() };
    });
    koa.use(router.routes());
    server = koa.listen(0);
  });
  afterEach(() => {
    later.stop();
    server.close();
    JwtManager.reset();
  });
  const call = (method: string, path: string, token: string) => send(server, method, path, token);
  /** `path` with `token`, the client gone while the route waits; resolves when the server has finished the request. */
  async function abandon(path: string, token: string): Promise<void> {
    await abandonAt(path, token);
    await new Promise((r) => setTimeout(r, 250));
  }


  /** `path` with `token`, the client gone once the route runs; resolves when the server has seen it go (the route may still be running). */
  async function abandonAt(path: string, token: string): Promise<void> {
    const { port } = server.address() as AddressInfo;
    const request = http.request({ port, path, method: 'POST', headers: { authorization: `Bearer ${token}` }, agent: false });
    request.on('error', () => undefined);
    request.end();
    await until(() => answered !== undefined);
    request.destroy();
    await until(() => answered!.destroyed);
  }


  for (const path of ['/refresh', '/verify']) {
    it(`${path}: tab 2's retry of R1, its client gone mid-request, does not revoke the family: R2 refreshes (the PoC: 401)`, async () => {
      const refresh = await createRefreshToken('alice');
      const pair = (await call('POST', path, refresh)).body as { refreshToken: string };
      slow = true;
      await abandon(path, refresh);
      slow = false;
      const next = await call('POST', path, pair.refreshToken);
      assert.equal(next.status, 200, JSON.stringify(next.body));
    });
  }

  it("a first use whose client went away mid-rotation: the retry gets the pair, and the pair works (the PoC revoked the family)", async () => {
    const refresh = await createRefreshToken('alice');
    slow = true;
    await abandon('/first', refresh);
    slow = false;
    const retry = await call('POST', '/refresh', refresh);
    assert.equal(retry.status, 200);
    assert.equal((await call('POST', '/refresh', (retry.body as { refreshToken: string }).refreshToken)).status, 200);
  });

  it('a job the worker (started in a retry) runs after that request ended mints for alice, uncapped by the old session, and revokes nothing', async () => {
    const refresh = await createRefreshToken('alice');
    const pair = (await call('POST', '/refresh', refresh)).body as { refreshToken: string };
    assert.equal((await call('POST', '/refresh', refresh)).status, 200); // the retry: the worker starts in it
    const token = await later.run(() => createAccessToken('alice', { expiresIn: '1h' }));
    assert.deepEqual((await call('GET', '/me', token)).body, { who: 'alice' });
    const claims = await JwtManager.instance.decodeToken(token);
    assert.equal((claims.exp as number) - (claims.iat as number), 3600);
    assert.equal((await call('POST', '/refresh', pair.refreshToken)).status, 200);
  });

  it("while a route whose client went away still runs, a job of its worker sees no identity and rotates nothing (helper-39's PoC leaked alice to an anonymous request)", async () => {
    const refresh = await createRefreshToken('alice');
    await abandonAt('/hold', refresh);
    try {
      assert.deepEqual(await outcome(() => later.run(getJwtIdentity)), OUTSIDE);
      assert.deepEqual(await outcome(() => later.run(() => rotateRefreshToken())), { threw: 'JwtUsageError', message: false }); // found no refresh token
    } finally {
      release();
    }
    assert.equal((await call('POST', '/refresh', refresh)).status, 200); // alice's token was never rotated by the job
  });

  it("a retry whose rotation the store could not answer is a 503, not reuse: the family lives (helper-39's PoC revoked it)", async () => {
    const refresh = await createRefreshToken('alice');
    const pair = (await call('POST', '/refresh', refresh)).body as { refreshToken: string };
    store.failNext = true;
    assert.equal((await call('POST', '/refresh', refresh)).status, 503);
    assert.equal((await call('POST', '/refresh', refresh)).status, 200); // the retry again, the store back: its pair
    assert.equal((await call('POST', '/refresh', pair.refreshToken)).status, 200);
  });

  it("a used token whose response went out before the handler failed is reuse all the same: the family is revoked (helper-40's PoC read alice's data and kept the family alive)", async () => {
    const refresh = await createRefreshToken('alice');
    const pair = (await call('POST', '/refresh', refresh)).body as { refreshToken: string };
    const { port } = server.address() as AddressInfo;
    const got = await new Promise<string>((resolve) => {
      const request = http.request({ port, path: '/leak', method: 'POST', headers: { authorization: `Bearer ${refresh}` }, agent: false }, (res) => {
        res.once('data', (chunk) => { resolve(String(chunk)); request.destroy(); });
      });
      request.on('error', () => undefined);
      request.end();
    });
    assert.ok(got.startsWith('{"who":"alice"}'), got); // what the used token got out (Node 24 may send more in the same chunk)
    await until(() => answered !== undefined && answered.destroyed);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await call('POST', '/refresh', pair.refreshToken)).status, 401); // so its family is revoked
  });

  it('a middleware in front renews from a first use, never from a retry that got its pair (helper-39: an extra token outside the family)', async () => {
    const refresh = await createRefreshToken('alice');
    const first = await call('POST', '/refresh', refresh);
    assert.equal(typeof first.headers['x-renewed'], 'string'); // the app's own pattern, on a first use
    const retry = await call('POST', '/refresh', refresh);
    assert.deepEqual([retry.status, retry.headers['x-renewed']], [200, undefined]);
    assert.deepEqual(retry.body, first.body); // the pair, and only the pair
  });

  it('a used token on a route that does not rotate: 401, and a middleware in front finds no identity to renew from (the PoC got a live token)', async () => {
    const refresh = await createRefreshToken('alice');
    await call('POST', '/refresh', refresh);
    const reuse = await call('POST', '/renew', refresh);
    assert.equal(reuse.status, 401);
    assert.equal(reuse.headers['x-renewed'], undefined);
    const honest = await call('POST', '/renew', await createRefreshToken('bob'));
    assert.deepEqual([honest.status, honest.body], [200, { who: 'bob' }]);
    assert.equal(typeof honest.headers['x-renewed'], 'string'); // the baseline: an unused token renews
  });
});

describe('security: over HTTP/2, a reset stream ends the request context (#20 F2, outside attack helper-40)', () => {
  it("the handler still awaiting after alice's client reset its stream sees no one (res.destroyed stays unset on HTTP/2)", async () => {
    JwtManager.configure({ secret: SECRET });
    let after: unknown;
    let during: unknown;
    const koa = new Koa();
    koa.silent = true;
    const router = new Router();
    router.get('/hang', jwtRequired(), async (ctx) => {
      during = await outcome(getJwtIdentity);
      const stream = (ctx.res as unknown as { stream: { destroyed: boolean } }).stream;
      await until(() => stream.destroyed);
      after = await outcome(getJwtIdentity);
      ctx.body = {};
    });
    koa.use(router.routes());
    const server = http2.createServer(koa.callback());
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const stream = client.request({ ':path': '/hang', authorization: `Bearer ${await createAccessToken('alice')}` });
      stream.on('error', () => undefined);
      await until(() => during !== undefined);
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await until(() => after !== undefined);
      assert.deepEqual([during, after], [{ value: 'alice' }, OUTSIDE]);
    } finally {
      client.close();
      server.close();
      JwtManager.reset();
    }
  });
});
