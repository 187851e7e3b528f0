import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { chromium, Browser, Page } from 'playwright-core';
import { createDemoApp } from '../../demo/app';
import { JwtManager } from '../../src';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** The cookie demo's routes over HTTP, with no browser. */
describe('demo: JWT in cookies over HTTP', () => {
  let server: Server;

  beforeEach(() => {
    server = createDemoApp().listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  it('GET /cookie-demo serves the HTML page', async () => {
    const res = await request(server).get('/cookie-demo');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.match(res.text, /<h1>JWT in cookies<\/h1>/);
  });

  it('POST /cookie/protected without a cookie: 401 Missing cookie "access_token_cookie"', async () => {
    const res = await request(server).post('/cookie/protected');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Missing cookie "access_token_cookie"' });
  });

  /** The Cookie header and the refresh CSRF value of a fresh cookie login. */
  async function cookieLogin(): Promise<{ cookie: string; refreshCsrf: string }> {
    const res = await request(server).post('/cookie/login').send({ username: 'test', password: 'test' });
    const cookies = (res.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]);
    const refreshCsrf = cookies.find((c) => c.startsWith('csrf_refresh_token='))!.split('=')[1];
    return { cookie: cookies.join('; '), refreshCsrf };
  }

  it('logout revokes the refresh token: a copy of the cookie taken before is refused afterwards', async () => {
    const { cookie, refreshCsrf } = await cookieLogin();
    const before = await request(server).post('/cookie/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', refreshCsrf);
    assert.deepEqual([before.status, before.body], [200, { refresh: true }]);
    const second = await cookieLogin();
    const logout = await request(server).post('/cookie/logout').set('Cookie', second.cookie).set('X-CSRF-TOKEN', second.refreshCsrf);
    assert.deepEqual([logout.status, logout.body], [200, { logout: true }]);
    const copied = await request(server).post('/cookie/refresh').set('Cookie', second.cookie).set('X-CSRF-TOKEN', second.refreshCsrf);
    assert.deepEqual([copied.status, copied.body], [401, { msg: 'Token has been revoked' }]);
  });

  it('logout with a refresh cookie but no CSRF header is refused and revokes nothing', async () => {
    const { cookie, refreshCsrf } = await cookieLogin();
    const logout = await request(server).post('/cookie/logout').set('Cookie', cookie);
    assert.deepEqual([logout.status, logout.body], [401, { msg: 'Missing CSRF token' }]);
    const still = await request(server).post('/cookie/refresh').set('Cookie', cookie).set('X-CSRF-TOKEN', refreshCsrf);
    assert.deepEqual([still.status, still.body], [200, { refresh: true }]);
  });

  it('logout without cookies only clears them: 200', async () => {
    const res = await request(server).post('/cookie/logout');
    assert.deepEqual([res.status, res.body], [200, { logout: true }]);
  });

  it('POST /cookie/login with a wrong password: 401 Bad username or password, no cookies', async () => {
    const res = await request(server).post('/cookie/login').send({ username: 'test', password: 'nope' });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Bad username or password' });
    assert.equal(res.headers['set-cookie'], undefined);
  });
});

/** The page, driven end to end by headless Chromium (Debian's chromium package). */
describe('demo: JWT in cookies in headless Chromium', function () {
  this.timeout(60_000);
  let server: Server;
  let browser: Browser;
  let page: Page;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium package (see .ci/run)`);
      console.warn(`\n  !!! SKIPPING the browser spec: ${CHROMIUM} is missing (apt-get install -y chromium) !!!\n`);
      this.skip();
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  });
  after(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    server = createDemoApp().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    page = await browser.newPage();
    await page.goto(`http://localhost:${(server.address() as AddressInfo).port}/cookie-demo`);
  });
  afterEach(async () => {
    await page?.close();
    server.close();
    JwtManager.reset();
  });

  /** Clicks a button of the page and returns the request's outcome the page shows. */
  async function click(id: string): Promise<{ path: string; status: number; body: unknown }> {
    const seq = Number(await page.getAttribute('#result', 'data-seq'));
    await page.click(`#${id}`);
    // string expressions: they run in the page, and the specs compile without the DOM lib
    await page.waitForFunction(`Number(document.getElementById('result').dataset.seq) > ${seq}`);
    return JSON.parse((await page.textContent('#result'))!);
  }

  it('login sets the cookies; the script sees only the CSRF ones', async () => {
    assert.deepEqual(await click('login'), { path: '/cookie/login', status: 200, body: { login: true } });
    const visible = (await page.evaluate<string>('document.cookie')).split('; ').map((c) => c.split('=')[0]).sort();
    assert.deepEqual(visible, ['csrf_access_token', 'csrf_refresh_token']);
    const stored = (await page.context().cookies()).map((c) => `${c.name}:${c.httpOnly}`).sort();
    assert.deepEqual(stored, ['access_token_cookie:true', 'csrf_access_token:false', 'csrf_refresh_token:false', 'refresh_token_cookie:true']);
  });

  it('a protected POST with the CSRF header read from the cookie: 200', async () => {
    await click('login');
    assert.deepEqual(await click('protected'), { path: '/cookie/protected', status: 200, body: { hello: 'from test' } });
  });

  it('a protected POST without the CSRF header: 401 Missing CSRF token', async () => {
    await click('login');
    assert.deepEqual(await click('protected-no-csrf'), { path: '/cookie/protected', status: 401, body: { msg: 'Missing CSRF token' } });
  });

  it('refresh replaces the access cookie, which then opens the protected POST', async () => {
    await click('login');
    const before = (await page.context().cookies()).find((c) => c.name === 'access_token_cookie')!.value;
    assert.deepEqual(await click('refresh'), { path: '/cookie/refresh', status: 200, body: { refresh: true } });
    const after = (await page.context().cookies()).find((c) => c.name === 'access_token_cookie')!.value;
    assert.notEqual(after, before);
    assert.deepEqual(await click('protected'), { path: '/cookie/protected', status: 200, body: { hello: 'from test' } });
  });

  it('logout clears every cookie; the protected POST is then refused', async () => {
    await click('login');
    assert.deepEqual(await click('logout'), { path: '/cookie/logout', status: 200, body: { logout: true } });
    assert.deepEqual(await page.context().cookies(), []);
    assert.deepEqual(await click('protected'), { path: '/cookie/protected', status: 401, body: { msg: 'Missing cookie "access_token_cookie"' } });
  });

  it('whoami is anonymous before login and names the user after', async () => {
    assert.deepEqual(await click('whoami'), { path: '/cookie/whoami', status: 200, body: { identity: null } });
    await click('login');
    assert.deepEqual(await click('whoami'), { path: '/cookie/whoami', status: 200, body: { identity: 'test' } });
  });
});
