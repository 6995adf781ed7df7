// The `testhub` example's endpoints around TestHub, as the official client's functional tests
// (ts/ConnectionTests.ts, WebSocketTests.ts, HubConnectionTests.ts) drive them: the raw /echo
// connection (the client's HttpConnection on every transport, and a plain WebSocket),
// /echoredirect, /bad-negotiate, /redirect, /authorizedhub with tokens from /generateJwtToken,
// the negotiate cookies, headers, CORS, timeouts and reconnects. TestHub's methods:
// testhub.test.mjs.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  AbortError,
  DefaultHttpClient,
  HttpClient,
  HttpTransportType,
  HubConnectionBuilder,
  NullLogger,
  TransferFormat,
} from '@microsoft/signalr';
import WebSocket from 'ws';
import { buildConnection, cleanup, closeOf, connect, startServer, TRANSPORTS, waitFor } from '../lib/server.mjs';

// Not exported by the package; the functional tests import them from its files too.
const require = createRequire(import.meta.url);
const { HttpConnection } = require('@microsoft/signalr/dist/cjs/HttpConnection.js');
const { getUserAgentHeader } = require('@microsoft/signalr/dist/cjs/Utils.js');

const T = { timeout: 20_000 };
const MESSAGE = 'Hello World!';

let server;
const url = (path) => `${server.url}${path}`;

before(async () => {
  server = await startServer('testhub');
});
after(async () => {
  await server?.stop();
});
afterEach(cleanup);

/** Sends MESSAGE over a raw HttpConnection, waits for it to come back, stops. */
async function echoOnce(path, options = {}) {
  const connection = new HttpConnection(url(path), { logger: NullLogger.instance, ...options });
  const close = new Promise((resolve) => (connection.onclose = resolve));
  const received = [];
  connection.onreceive = (data) => received.push(data);
  await connection.start(TransferFormat.Text);
  await connection.send(MESSAGE);
  await waitFor(() => received.length > 0, 5_000, 'the echo');
  await connection.stop();
  assert.equal(await close, undefined, 'a clean close');
  assert.deepEqual(received, [MESSAGE], 'text comes back as text');
  return connection;
}

/** A token from GET /generateJwtToken. */
async function jwt() {
  const response = await new DefaultHttpClient(NullLogger.instance).get(url('/generateJwtToken'));
  return response.content;
}

describe('/echo: a connection handler without the hub protocol', () => {
  test('negotiates a transport itself', T, () => echoOnce('/echo'));

  for (const transport of TRANSPORTS) {
    test(`echoes over ${transport}`, T, () => echoOnce('/echo', { transport: HttpTransportType[transport] }));
  }

  test('a WebSocket without negotiate gets text back as text, then a clean close', T, async () => {
    const ws = new WebSocket(`${server.wsUrl}/echo`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send('message');
    const [data, binary] = await new Promise((resolve) => ws.once('message', (d, b) => resolve([d, b])));
    assert.equal(binary, false);
    assert.equal(data.toString(), 'message');
    const code = new Promise((resolve) => ws.once('close', resolve));
    ws.close(1000);
    assert.equal(await code, 1000);
  });

  test('a WebSocket closed without a code is answered 1000, as ASP.NET Core does', T, async () => {
    const ws = new WebSocket(`${server.wsUrl}/echo`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const code = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    assert.equal(await code, 1000);
  });

  test('/echoredirect is followed: 307 to /echo with the query kept', T, async () => {
    const response = await fetch(url('/echoredirect/negotiate?negotiateVersion=1&x=y'), {
      method: 'POST',
      redirect: 'manual',
    });
    assert.equal(response.status, 307);
    assert.equal(response.headers.get('location'), '/echo/negotiate?negotiateVersion=1&x=y');
    // WebSockets do not follow it; the client falls back to Long Polling, which does.
    await echoOnce('/echoredirect', { transport: HttpTransportType.WebSockets | HttpTransportType.LongPolling });
  });

  test('/bad-negotiate: the server\'s response is in the error', T, async () => {
    const connection = new HttpConnection(url('/bad-negotiate'), { logger: NullLogger.instance });
    await assert.rejects(connection.start(TransferFormat.Text), {
      message: "Failed to complete negotiation with the server: Error: Some response from server: Status code '400'",
    });
  });
});

describe('negotiate responses', () => {
  test('set two cookies and an expired one, on every path containing /negotiate', T, async () => {
    for (const path of ['/testhub/negotiate', '/echo/negotiate', '/authorizedhub/negotiate']) {
      const response = await fetch(url(path), { method: 'POST' });
      const cookies = response.headers.getSetCookie();
      assert.deepEqual(cookies.slice(0, 2), ['testCookie=testValue; path=/', 'testCookie2=testValue2; path=/'], path);
      const expires = /^expiredCookie=doesntmatter; expires=(.+); path=\/$/.exec(cookies[2])?.[1];
      assert.ok(Date.parse(expires) < Date.now(), `${path}: ${cookies[2]}`);
    }
  });

  test('a 401 has an empty body, so the client shows the status text', T, async () => {
    const response = await fetch(url('/authorizedhub/negotiate?negotiateVersion=1'), { method: 'POST' });
    assert.equal(response.status, 401);
    assert.equal(await response.text(), '');
  });

  test('CORS: any origin is echoed with credentials; preflights get 204', T, async () => {
    const origin = 'http://somewhere.example';
    const preflight = await fetch(url('/testhub/negotiate'), {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-requested-with' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'x-requested-with');
    const local = 'http://localhost:9876';
    const negotiate = await fetch(url('/testhub/negotiate'), { method: 'POST', headers: { Origin: local } });
    assert.equal(negotiate.headers.get('access-control-allow-origin'), local);
    assert.equal(negotiate.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(negotiate.headers.get('vary'), 'Origin');
  });
});

for (const transport of TRANSPORTS) {
  describe(`over ${transport}`, () => {
    const open = (path = '/testhub', options = {}) => connect(url(path), { transport, ...options });

    test('connects to the authorized hub with a token, sync or async', T, async () => {
      const token = await jwt();
      for (const accessTokenFactory of [() => token, () => jwt()]) {
        const connection = await open('/authorizedhub', { accessTokenFactory });
        const close = closeOf(connection);
        assert.equal(await connection.invoke('Echo', '你好，世界！'), '你好，世界！');
        await connection.stop();
        assert.equal(await close, undefined);
      }
    });

    test('the authorized hub refuses a client without a token', T, async () => {
      await assert.rejects(open('/authorizedhub', { quiet: true }), {
        message: "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'",
      });
    });

    if (transport !== 'LongPolling') {
      test('terminates if no messages arrive within the server timeout', T, async () => {
        const connection = await open('/testhub', { quiet: true });
        const close = closeOf(connection);
        connection.serverTimeoutInMilliseconds = 1;
        await connection.invoke('Echo', '').catch(() => {});
        assert.equal((await close)?.message, 'Server timeout elapsed without receiving a message from the server.');
      });
    }

    test('keeps the negotiate cookies, drops the expired one', T, async () => {
      const connection = await open();
      assert.equal(await connection.invoke('GetCookie', 'testCookie'), 'testValue');
      assert.equal(await connection.invoke('GetCookie', 'testCookie2'), 'testValue2');
      assert.equal(await connection.invoke('GetCookie', 'expiredCookie'), null);
    });

    test('reconnects automatically with a new connection id', T, async () => {
      const connection = await open('/testhub', { reconnect: true, quiet: true });
      const before = connection.connectionId;
      const reconnected = new Promise((resolve) => connection.onreconnected(resolve));
      connection.serverTimeout(); // what the official test does to induce a reconnect
      const after = await reconnected;
      assert.notEqual(after, before);
      assert.equal(await connection.invoke('Echo', 'test'), 'test');
    });

    test('sees the user agent, and user headers over the library\'s', T, async () => {
      const [name, value] = getUserAgentHeader();
      const plain = await open();
      assert.equal(await plain.invoke('GetHeader', name), value);
      const custom = await open('/testhub', { headers: { [name]: 'Custom Agent', 'X-HEADER': 'VALUE' } });
      assert.equal(await custom.invoke('GetHeader', 'X-HEADER'), 'VALUE');
      assert.equal(await custom.invoke('GetHeader', name), 'Custom Agent');
    });
  });
}

describe('redirects and skipped negotiation', () => {
  const redirect = () => url(`/redirect?numRedirects=0&baseUrl=${server.url}`);

  test('a negotiate redirect to /testHub counts redirects, and reconnects through it', T, async () => {
    const connection = await connect(redirect(), { transport: null, reconnect: true, quiet: true });
    const first = await connection.invoke('GetNumRedirects');
    assert.equal(await connection.invoke('GetCallerConnectionId'), connection.connectionId);
    const reconnected = new Promise((resolve) => connection.onreconnected(resolve));
    const initial = connection.connectionId;
    connection.serverTimeout();
    const id = await reconnected;
    assert.notEqual(id, initial);
    assert.equal(await connection.invoke('GetCallerConnectionId'), id);
    assert.ok((await connection.invoke('GetNumRedirects')) > first, 'the counter is process-wide');
    await connection.stop();
    assert.equal(connection.connectionId, null);
  });

  test('skipping negotiation: no connection id, and a reconnect still works', T, async () => {
    const connection = buildConnection(url('/testhub'), { skipNegotiation: true, reconnect: true, quiet: true });
    assert.equal(connection.connectionId, null);
    await connection.start();
    assert.equal(connection.connectionId, null);
    const reconnected = new Promise((resolve) => connection.onreconnected(resolve));
    connection.serverTimeout();
    assert.equal(await reconnected, undefined);
    assert.equal(await connection.invoke('Echo', 'test'), 'test');
    await connection.stop();
    assert.equal(connection.connectionId, null);
  });

  test('Long Polling sends DELETE on stop and waits for its poll to end', T, async () => {
    const inner = new DefaultHttpClient(NullLogger.instance);
    let poll = null;
    class PollWatcher extends HttpClient {
      send(request) {
        const sent = inner.send(request);
        if (request.method === 'GET') poll = sent;
        return sent;
      }
    }
    const connection = new HubConnectionBuilder()
      .withUrl(url('/testhub'), { transport: HttpTransportType.LongPolling, httpClient: new PollWatcher() })
      .configureLogging(NullLogger.instance)
      .build();
    await connection.start();
    assert.ok(poll, 'a poll is running');
    const stopped = connection.stop();
    // The poll ends: answered 204, or aborted by the client itself.
    const ended = await poll.catch((e) => e);
    assert.ok(ended.statusCode === 204 || ended instanceof AbortError, `poll ended with ${ended.statusCode ?? ended}`);
    await stopped;
  });
});
