/**
 * The demo's DPoP page (DESIGN 0.3 K) in headless Chromium: a non-extractable WebCrypto key,
 * login with a proof, protected calls with proofs; then the same token replayed from Node
 * (as curl would) without the key is refused every way it can be sent.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { chromium, Browser, Page } from 'playwright-core';
import { createDemoApp } from '../../demo/app';
import { decodeToken, JwtManager } from '../../src';
import { dpopProof } from '../../src/testing';
import { ecKey } from '../dpop/support';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CHALLENGE = 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA PS256 RS256"';

describe('demo: DPoP over HTTP', () => {
  let server: Server;
  beforeEach(() => {
    server = createDemoApp().listen(0);
  });
  afterEach(() => {
    server.close();
    JwtManager.reset();
  });

  it('GET /dpop serves the page; /dpop/login without a proof is refused', async () => {
    const page = await request(server).get('/dpop');
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>DPoP: tokens bound to a key<\/h1>/);
    const login = await request(server).post('/dpop/login').send({ username: 'test', password: 'test' });
    assert.equal(login.status, 400);
    assert.deepEqual(login.body, { msg: 'This login needs a DPoP header' });
  });

  it('a bad proof at login: 401 Invalid DPoP proof with its challenge', async () => {
    const proof = await dpopProof(ecKey().privateKey, { htm: 'GET', htu: 'http://127.0.0.1/dpop/login' });
    const res = await request(server).post('/dpop/login').set('DPoP', proof).send({ username: 'test', password: 'test' });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { msg: 'Invalid DPoP proof' });
    assert.equal(res.headers['www-authenticate'], CHALLENGE);
  });
});

describe('demo: DPoP in headless Chromium', function () {
  this.timeout(60_000);
  let server: Server;
  let browser: Browser;
  let page: Page;
  let origin: string;
  /** The DPoP headers the page sent, in order. */
  let sentProofs: string[];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium package (see .ci/run)`);
      console.warn(`\n  !!! SKIPPING the DPoP browser spec: ${CHROMIUM} is missing (apt-get install -y chromium) !!!\n`);
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
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    page = await browser.newPage();
    sentProofs = [];
    page.on('request', (req) => {
      const proof = req.headers().dpop;
      if (proof) sentProofs.push(proof);
    });
    await page.goto(`${origin}/dpop`);
  });
  afterEach(async () => {
    await page?.close();
    server.close();
    JwtManager.reset();
  });

  async function click(id: string): Promise<{ path: string; status: number; body: Record<string, unknown> }> {
    const seq = Number(await page.getAttribute('#result', 'data-seq'));
    await page.click(`#${id}`);
    await page.waitForFunction(`Number(document.getElementById('result').dataset.seq) > ${seq}`);
    return JSON.parse((await page.textContent('#result'))!);
  }

  it('logs in with a proof by a non-extractable key; protected calls with proofs pass', async () => {
    const login = await click('login');
    assert.equal(login.status, 200);
    assert.equal(login.body.token_type, 'DPoP');
    assert.equal(await page.evaluate('keys.privateKey.extractable'), false, 'the private key cannot leave WebCrypto');
    const jkt = ((await decodeToken(login.body.access_token as string)).cnf as { jkt: string }).jkt;
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await click('protected'), { path: '/dpop/protected', status: 200, body: { hello: 'from test', jkt } });
    }
    const bearer = await click('protected-bearer');
    assert.deepEqual(bearer, { path: '/dpop/protected', status: 401, body: { msg: 'Invalid DPoP proof' } });
  });

  it('the token copied out of the browser, replayed from Node without the key, is refused', async () => {
    const login = await click('login');
    const token = login.body.access_token as string;
    assert.equal((await click('protected')).status, 200);
    const lastProof = sentProofs.at(-1)!;
    const url = new URL(origin);
    const fromNode = () => request(server).get('/dpop/protected').set('Host', url.host);
    // as a bearer token
    const bearer = await fromNode().set('Authorization', `Bearer ${token}`);
    assert.equal(bearer.status, 401);
    assert.deepEqual(bearer.body, { msg: 'Invalid DPoP proof' });
    assert.equal(bearer.headers['www-authenticate'], CHALLENGE);
    // with the DPoP scheme and no proof
    const bare = await fromNode().set('Authorization', `DPoP ${token}`);
    assert.equal(bare.status, 401);
    assert.deepEqual(bare.body, { msg: 'DPoP proof required' });
    // with the browser's own proof, captured on the wire: a replay
    const replayed = await fromNode().set('Authorization', `DPoP ${token}`).set('DPoP', lastProof);
    assert.equal(replayed.status, 401);
    assert.deepEqual(replayed.body, { msg: 'Invalid DPoP proof' });
    // with a fresh proof by the attacker's own key
    const own = await fromNode().set('Authorization', `DPoP ${token}`)
      .set('DPoP', await dpopProof(ecKey().privateKey, { htm: 'GET', htu: `${origin}/dpop/protected`, token }));
    assert.equal(own.status, 401);
    assert.deepEqual(own.body, { msg: 'Invalid DPoP proof' });
    // the browser, which holds the key, still gets in
    assert.equal((await click('protected')).status, 200);
  });
});
