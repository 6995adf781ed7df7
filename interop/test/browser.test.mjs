// The chat example's page in headless Chromium (Debian package, driven through
// playwright-core): two tabs talking by name, a group, the hub's and the page's refusals,
// a server restart survived by automatic reconnect, the secure chat, and the Node official
// client on the same hub. The page is the TypeScript bundle (examples/web/build.mjs), built
// here before the server starts; every request that leaves localhost fails the test.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { cleanup, collect, connect, QUIET_MS, repoRoot, sleep, startServer } from '../lib/server.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = path.join(repoRoot, 'target', 'screenshots');
/** A phone's width: the page must fit it without scrolling sideways. */
const PHONE = { width: 390, height: 844 };

let server;
let browser;

before(async () => {
  // Missing Chromium is a failure, not a skip: scripts/test installs it or says how.
  assert.ok(
    existsSync(executablePath),
    `Chromium not found at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
  // The page's script, type-checked and bundled from the sources of this checkout.
  const build = spawnSync(process.execPath, [path.join(repoRoot, 'examples', 'web', 'build.mjs')], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, `building the chat page failed:\n${build.stdout}${build.stderr}`);
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

/** Requests that left localhost, in any page of any test: each one fails the run. */
const outside = [];

/**
 * Opens the chat page in a new tab of `context` (a new phone-sized context by default),
 * watching for script errors, console errors, failed requests and requests that leave
 * localhost (aborted). Waits until the page is connected unless `connected` is false.
 */
async function openChatPage({ context, connected = true, url = `${server.url}/`, routes } = {}) {
  const page = await (context ?? (await browser.newContext({ viewport: PHONE }))).newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  // The demo works offline: every request leaving localhost fails the test.
  await page.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
    outside.push(route.request().url());
    problems.push(`request outside localhost: ${route.request().url()}`);
    return route.abort();
  });
  // Later routes take precedence over the one above.
  if (routes) await routes(page);
  const response = await page.goto(url);
  assert.equal(response.status(), 200);
  if (connected) await waitForStatus(page, /^connected as /);
  return { page, problems };
}

/** Waits until the connection status line matches `pattern`. */
async function waitForStatus(page, pattern, timeout = 15_000) {
  await page.waitForFunction(
    ([source, flags]) => new RegExp(source, flags).test(document.querySelector('#status').textContent),
    [pattern.source, pattern.flags],
    { timeout },
  );
}

const statusOf = (page) => page.textContent('#status');

/** Renames the page's user through the page's name form. */
async function rename(page, name) {
  await page.fill('#name', name);
  await page.click('#rename');
  await waitForStatus(page, new RegExp(`^connected as ${name}`));
}

/** The log's lines; `selector` narrows them (`li.message`, `li.error`, ...). */
const listItems = (page, selector = 'li') =>
  page.$$eval(`#messages ${selector}`, (lis) => lis.map((li) => li.textContent));

async function waitForListItem(page, text, selector = 'li') {
  try {
    await page.waitForFunction(
      ([expected, sel]) =>
        [...document.querySelectorAll(`#messages ${sel}`)].some((li) => li.textContent === expected),
      [text, selector],
      { timeout: 10_000 },
    );
  } catch (err) {
    err.message += `\nwaiting for ${selector} "${text}"; the log: ${JSON.stringify(await listItems(page))}`;
    throw err;
  }
}

async function waitForListMatch(page, pattern, selector = 'li') {
  await page.waitForFunction(
    ([source, sel]) => [...document.querySelectorAll(`#messages ${sel}`)].some((li) => new RegExp(source).test(li.textContent)),
    [pattern.source, selector],
    { timeout: 10_000 },
  );
}

/** A chat line must appear exactly once. */
async function assertShownOnce(page, text, selector = 'li') {
  const items = await listItems(page, selector);
  assert.equal(
    items.filter((item) => item === text).length,
    1,
    `expected exactly one ${selector} "${text}" in ${JSON.stringify(items)}`,
  );
}

/** Sends `text` from the page's message form to what its "to" list says. */
async function send(page, text, to = '') {
  await page.selectOption('#to', to);
  await page.fill('#message', text);
  await page.click('#send');
}

/** The page is no wider than the phone: nothing scrolls sideways. */
async function assertFitsPhone(page) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `the page is ${width} px wide on a ${PHONE.width} px screen`);
}

test('/chat.js is the page bundle with the SignalR client inside', T, async () => {
  const res = await fetch(`${server.url}/chat.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /javascript/);
  const body = await res.text();
  // The client's own negotiate header, and the wire names of the generated module.
  assert.ok(body.includes('X-SignalR-User-Agent'), 'the bundle lacks the SignalR client');
  assert.ok(body.includes('"SendMessageToGroup"'), 'the bundle lacks the chat hub module');
  assert.ok(!/\bfrom\s*["']@microsoft\/signalr["']/.test(body), 'the bundle still imports a package');
});

test('two tabs: names, messages both ways, a group, refusals, and a server restart', { timeout: 90_000 }, async () => {
  const context = await browser.newContext({ viewport: PHONE });
  const one = await openChatPage({ context });
  const two = await openChatPage({ context });
  const [tab1, tab2] = [one.page, two.page];
  try {
    await rename(tab1, 'alice');
    await rename(tab2, 'bob');
    // People are named by the names they chose (a guest name until then), never by
    // connection ids.
    await waitForListMatch(tab2, /^guest-\d{4} is now alice$/, 'li.event');
    await waitForListMatch(tab1, /^guest-\d{4} is now bob$/, 'li.event');

    // Messages both ways, each shown once in both tabs.
    await send(tab1, 'hi bob');
    await waitForListItem(tab2, 'alice: hi bob', 'li.message');
    await waitForListItem(tab1, 'alice: hi bob', 'li.message');
    await send(tab2, 'hi alice');
    await waitForListItem(tab1, 'bob: hi alice', 'li.message');
    await waitForListItem(tab2, 'bob: hi alice', 'li.message');
    await sleep(QUIET_MS);
    for (const tab of [tab1, tab2]) {
      await assertShownOnce(tab, 'alice: hi bob', 'li.message');
      await assertShownOnce(tab, 'bob: hi alice', 'li.message');
    }
    assert.equal(await tab1.$$eval('#messages li.message.mine', (lis) => lis.length), 1, 'alice sees her own line marked');

    // The page refuses an empty group name before sending anything...
    await tab1.fill('#group', '   ');
    await tab1.click('#join');
    await waitForListItem(tab1, 'error: enter a group name first', 'li.error');
    // ... and shows the hub's own refusals (HubError) as they are.
    await tab1.fill('#group', 'g'.repeat(33));
    await tab1.click('#join');
    await waitForListItem(tab1, 'error: A group name has at most 32 characters.', 'li.error');

    // alice joins "ops"; its messages reach members only, marked as group messages.
    await tab1.fill('#group', 'ops');
    await tab1.click('#join');
    await waitForListItem(tab1, 'alice joined #ops', 'li.event');
    assert.equal(await tab1.textContent('#group-list'), '#ops');
    await send(tab1, 'ops only', 'ops');
    await waitForListItem(tab1, '#ops alice: ops only', 'li.message.to-group');
    // A later message to everyone reaches bob, so the group message would have been before it.
    await send(tab1, 'after ops', '');
    await waitForListItem(tab2, 'alice: after ops', 'li.message');
    const bobSaw = await listItems(tab2);
    assert.ok(!bobSaw.some((item) => item.includes('ops only')), `bob is no member: ${JSON.stringify(bobSaw)}`);
    assert.ok(!bobSaw.some((item) => item.includes('joined #ops')), 'group events stay in the group');

    for (const tab of [tab1, tab2]) {
      await assertFitsPhone(tab);
      const ids = await tab.evaluate(() => /[A-Za-z0-9_-]{22}/.test(document.querySelector('#messages').textContent));
      assert.equal(ids, false, 'no connection id is shown');
    }
    assert.deepEqual([...one.problems, ...two.problems], []);

    // The server goes away and comes back on the same port: both tabs say they are
    // reconnecting, then reconnect on their own, under their names, in their groups.
    server = await server.restart();
    await Promise.all([tab1, tab2].map((tab) => waitForStatus(tab, /^connected as \w+ \(reconnected\)$/, 30_000)));
    assert.equal(await statusOf(tab1), 'connected as alice (reconnected)');
    assert.equal(await statusOf(tab2), 'connected as bob (reconnected)');
    await send(tab2, 'back again');
    await waitForListItem(tab1, 'bob: back again', 'li.message');
    await send(tab1, 'ops after restart', 'ops');
    await waitForListItem(tab1, '#ops alice: ops after restart', 'li.message.to-group');
    await send(tab1, 'to all after restart', '');
    await waitForListItem(tab2, 'alice: to all after restart', 'li.message');
    assert.ok(!(await listItems(tab2)).some((item) => item.includes('ops after restart')));

    mkdirSync(screenshots, { recursive: true });
    await tab1.screenshot({ path: path.join(screenshots, 'chat-tab1.png'), fullPage: true });
    await tab2.screenshot({ path: path.join(screenshots, 'chat-tab2.png'), fullPage: true });
    const pageErrors = [...one.problems, ...two.problems].filter((p) => p.startsWith('pageerror'));
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(outside, []);
  } finally {
    await context.close();
  }
});

test('the page shows the reconnect state while the server is away', T, async () => {
  const { page } = await openChatPage();
  try {
    await server.kill();
    await waitForStatus(page, /reconnecting/);
    assert.equal(await page.getAttribute('#status', 'class'), 'reconnecting');
    assert.equal(await page.isDisabled('#send'), true, 'nothing can be sent while reconnecting');
    server = await server.restart();
    await waitForStatus(page, /\(reconnected\)$/, 20_000);
    assert.equal(await page.isDisabled('#send'), false);
  } finally {
    await page.context().close();
  }
});

test('a connection that fails shows a visible error', T, async () => {
  const { page } = await openChatPage({
    connected: false,
    // The hub answers negotiate with an error (as a misconfigured proxy would).
    routes: (p) => p.route('**/hubs/chat/negotiate*', (route) => route.fulfill({ status: 500, body: 'broken' })),
  });
  try {
    await waitForStatus(page, /^failed to connect: .*broken.*; retrying in 5 s$/);
    assert.equal(await page.getAttribute('#status', 'class'), 'error');
    assert.ok(await page.isVisible('#status'));
    assert.equal(await page.isDisabled('#send'), true);
  } finally {
    await page.context().close();
  }
});

test('without its built script the page says what to run', T, async () => {
  const bare = await startServer('chat', { env: { CHAT_BUNDLE: path.join(repoRoot, 'target', 'no-such-bundle.js') } });
  try {
    const res = await fetch(`${bare.url}/chat.js`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /scripts\/chat/);
    const { page } = await openChatPage({ connected: false, url: `${bare.url}/` });
    try {
      await waitForStatus(page, /did not load: run scripts\/chat/);
    } finally {
      await page.context().close();
    }
  } finally {
    await bare.stop();
  }
});

test('the page and a Node client talk both ways', T, async () => {
  const node = await connect(`${server.url}/hubs/chat?name=node`, {
    setup(conn) {
      for (const method of ['UserConnected', 'UserDisconnected', 'UserRenamed', 'UserJoined', 'UserLeft']) {
        conn.on(method, () => {});
      }
    },
  });
  const nodeMessages = collect(node, 'ReceiveMessage');
  const { page, problems } = await openChatPage();
  try {
    await rename(page, 'carol');
    await send(page, 'hi from chromium');
    await waitForListItem(page, 'carol: hi from chromium', 'li.message');
    await nodeMessages.waitForCount(1);
    const [message] = nodeMessages.items;
    assert.deepEqual({ ...message, sentAt: undefined }, {
      user: 'carol',
      text: 'hi from chromium',
      group: null,
      sentAt: undefined,
    });
    assert.ok(Math.abs(Date.parse(message.sentAt) - Date.now()) < 60_000, `sentAt ${message.sentAt}`);

    assert.equal(await node.invoke('SendMessage', 'hello page'), null);
    await waitForListItem(page, 'node: hello page', 'li.message');
    await sleep(QUIET_MS);
    await assertShownOnce(page, 'node: hello page', 'li.message');
    assert.equal(nodeMessages.length, 2, 'the Node client gets each message exactly once');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
});

/** Signs the page in to the secure chat as `user` (password "demo"). */
async function signIn(page, user) {
  await page.click('#tab-secure');
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
    await alice.page.context().close();
    await bob.page.context().close();
  }
});

test('secure chat: a wrong password is refused, and the hub refuses connections without a token', T, async () => {
  const { page, problems } = await openChatPage();
  try {
    await page.click('#tab-secure');
    await page.fill('#login-user', 'alice');
    await page.fill('#login-password', 'wrong');
    await page.click('#signin-button');
    await page.waitForFunction(() => document.querySelector('#secure-status').textContent.includes('sign-in failed'));
    assert.deepEqual(problems.filter((p) => !p.includes('401')), []);
  } finally {
    await page.context().close();
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

test('no page of this file made a request outside localhost', () => {
  assert.deepEqual(outside, []);
});
