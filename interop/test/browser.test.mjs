// The chat example's page in headless Chromium (Debian package, driven through
// playwright-core), talking to the chat hub alongside a Node official client.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { cleanup, collect, connect, QUIET_MS, sleep, startServer } from '../lib/server.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const signalrMinJs = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'node_modules/@microsoft/signalr/dist/browser/signalr.min.js',
);

let server;
let browser;

before(async () => {
  // Missing Chromium is a failure, not a skip: CI installs it.
  assert.ok(
    existsSync(executablePath),
    `Chromium not found at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
  server = await startServer('chat');
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});
afterEach(cleanup);

/** Opens the chat page and waits until its connection has started. */
async function openChatPage() {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Chromium asks for /favicon.ico on its own; a 404 there is not the page's fault.
    if (msg.type() === 'error' && !msg.location().url?.endsWith('/favicon.ico')) {
      problems.push(`console.error: ${msg.text()}`);
    }
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  // The demo works offline: every request leaving localhost fails the test.
  await page.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
    problems.push(`request outside localhost: ${route.request().url()}`);
    return route.abort();
  });
  const response = await page.goto(`${server.url}/`);
  assert.equal(response.status(), 200);
  await page.waitForSelector('#send:not([disabled])', { timeout: 15_000 });
  return { page, problems };
}

async function waitForListItem(page, text) {
  await page.waitForFunction(
    (expected) => [...document.querySelectorAll('#messages li')].some((li) => li.textContent === expected),
    text,
    { timeout: 10_000 },
  );
}

const listItems = (page) => page.$$eval('#messages li', (lis) => lis.map((li) => li.textContent));

/** The page may list other events too (connects, ...); a chat line must appear exactly once. */
async function assertShownOnce(page, text) {
  const items = await listItems(page);
  assert.equal(
    items.filter((item) => item === text).length,
    1,
    `expected exactly one <li> "${text}" in ${JSON.stringify(items)}`,
  );
}

test('the page serves the official browser bundle at /lib/signalr.min.js', T, async () => {
  const res = await fetch(`${server.url}/lib/signalr.min.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /javascript/);
  assert.equal(await res.text(), readFileSync(signalrMinJs, 'utf8'));
});

test('a message sent from the page reaches the page and a Node client', T, async () => {
  const node = await connect(`${server.url}/hubs/chat`, {
    setup(conn) {
      conn.on('UserConnected', () => {});
      conn.on('UserDisconnected', () => {});
    },
  });
  const nodeMessages = collect(node, 'ReceiveMessage');
  const { page, problems } = await openChatPage();
  try {
    await page.fill('#user', 'alice');
    await page.fill('#message', 'hi from chromium');
    await page.click('#send');
    await waitForListItem(page, 'alice: hi from chromium');
    await nodeMessages.waitForCount(1);
    assert.deepEqual(nodeMessages.items, [['alice', 'hi from chromium']]);
    await sleep(QUIET_MS);
    assert.deepEqual(nodeMessages.items, [['alice', 'hi from chromium']], 'the Node client gets it exactly once');
    await assertShownOnce(page, 'alice: hi from chromium');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test('a message sent by a Node client appears on the page', T, async () => {
  const { page, problems } = await openChatPage();
  try {
    const node = await connect(`${server.url}/hubs/chat`, {
      setup(conn) {
        conn.on('UserConnected', () => {});
        conn.on('UserDisconnected', () => {});
        conn.on('ReceiveMessage', () => {});
      },
    });
    assert.equal(await node.invoke('SendMessage', 'node', 'hello page'), null);
    await waitForListItem(page, 'node: hello page');
    await sleep(QUIET_MS);
    await assertShownOnce(page, 'node: hello page');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

/** Signs the page in to the secure chat as `user` (password "demo"). */
async function signIn(page, user) {
  await page.fill('#login-user', user);
  await page.fill('#login-password', 'demo');
  await page.click('#signin-button');
  await page.waitForSelector('#send-admin:not([disabled])', { timeout: 10_000 });
  assert.equal(await page.textContent('#secure-status'), `signed in as ${user}`);
}

test('secure chat: sign-in, an admin message for all, a refused one, and a private message', T, async () => {
  const alice = await openChatPage();
  const bob = await openChatPage();
  try {
    await signIn(alice.page, 'alice');
    await signIn(bob.page, 'bob');

    // Bob has no Admin role: ASP.NET's refusal shows up on his page, and nobody gets it.
    await bob.page.fill('#admin-message', 'bob pretends');
    await bob.page.click('#send-admin');
    await waitForListItem(bob.page, "error: Failed to invoke 'SendAdminMessage' because user is unauthorized");

    await alice.page.fill('#admin-message', 'maintenance at noon');
    await alice.page.click('#send-admin');
    await waitForListItem(alice.page, '[admin] maintenance at noon');
    await waitForListItem(bob.page, '[admin] maintenance at noon');

    await alice.page.fill('#private-to', 'bob');
    await alice.page.fill('#private-message', 'psst');
    await alice.page.click('#send-private');
    await waitForListItem(bob.page, '[private from alice] psst');
    await sleep(QUIET_MS);
    const aliceItems = await listItems(alice.page);
    assert.ok(!aliceItems.some((item) => item.includes('psst')), 'the sender does not get the private message');
    assert.ok(!aliceItems.some((item) => item.includes('bob pretends')));
    assert.deepEqual([...alice.problems, ...bob.problems], []);
  } finally {
    await alice.page.close();
    await bob.page.close();
  }
});

test('secure chat: a wrong password is refused, and the hub refuses connections without a token', T, async () => {
  const { page, problems } = await openChatPage();
  try {
    await page.fill('#login-user', 'alice');
    await page.fill('#login-password', 'wrong');
    await page.click('#signin-button');
    await page.waitForFunction(() => document.querySelector('#secure-status').textContent.includes('sign-in failed'));
    assert.deepEqual(problems.filter((p) => !p.includes('401')), []);
  } finally {
    await page.close();
  }
  const login = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userName: 'bob', password: 'nope' }),
  });
  assert.equal(login.status, 401);
  const negotiate = await fetch(`${server.url}/hubs/secure-chat/negotiate?negotiateVersion=1`, { method: 'POST' });
  assert.equal(negotiate.status, 401);
});
