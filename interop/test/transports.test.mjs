// The three transports of the `interop` example side by side: what negotiate
// offers per endpoint, how the official client falls back when WebSockets is
// off, the status codes and texts of the connection endpoint (plain `fetch`),
// long polling and Server-Sent Events spoken by hand, and automatic reconnect
// after the server process is killed and restarted on the same port.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '@msgpack/msgpack';
import { LogLevel } from '@microsoft/signalr';
import {
  cleanup,
  collect,
  connect,
  QUIET_MS,
  sleep,
  startServer,
  usedTransport,
  waitFor,
} from '../lib/server.mjs';
import { binaryFrame, expectUpgradeRejected, frame, RawHub, RS, terminateAllRaw } from '../lib/raw.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

const OFFERS = {
  WebSockets: { transport: 'WebSockets', transferFormats: ['Text', 'Binary'] },
  ServerSentEvents: { transport: 'ServerSentEvents', transferFormats: ['Text'] },
  LongPolling: { transport: 'LongPolling', transferFormats: ['Text', 'Binary'] },
};
/** The endpoints of the interop example and the transports each one enables. */
const ENDPOINTS = {
  '/hubs/test': ['WebSockets', 'ServerSentEvents', 'LongPolling'],
  '/hubs/test-no-websockets': ['ServerSentEvents', 'LongPolling'],
  '/hubs/test-long-polling': ['LongPolling'],
  '/hubs/test-websockets': ['WebSockets'],
};

const JSON_HANDSHAKE = frame({ protocol: 'json', version: 1 });
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';
const TEXTS = {
  idRequired: 'Connection ID required',
  unknownId: 'No Connection with that ID',
  notSupported: (transport) => `${transport} transport not supported by this end point type`,
  cannotChange: 'Cannot change transports mid-connection',
  postToWebSocket: 'POST requests are not allowed for WebSocket connections.',
  cannotDelete: 'Cannot terminate this connection using the DELETE endpoint.',
};

let server;

before(async () => {
  server = await startServer('interop');
});
after(async () => {
  await server?.stop();
});
afterEach(async (t) => {
  for (const controller of openRequests) controller.abort();
  openRequests.clear();
  terminateAllRaw();
  await cleanup(t);
});

// ---------------------------------------------------------------------------
// Plain HTTP helpers

/** Requests still open (SSE streams, pending polls), aborted after each test. */
const openRequests = new Set();

/** POST {path}/negotiate?negotiateVersion=1 and the parsed body. */
async function negotiate(path = '/hubs/test') {
  const res = await fetch(`${server.url}${path}/negotiate?negotiateVersion=1`, { method: 'POST' });
  assert.equal(res.status, 200, `negotiate on ${path}`);
  return res.json();
}

/** The URL of the connection endpoint, with ?id= when a token is given. */
function endpoint(path, token) {
  return `${server.url}${path}${token === undefined ? '' : `?id=${encodeURIComponent(token)}`}`;
}

function wsEndpoint(path, token) {
  return endpoint(path, token).replace(/^http/, 'ws');
}

/**
 * One HTTP request; resolves with { status, body (text), bytes (Buffer),
 * headers } once the whole response arrived.
 */
async function request(url, init = {}) {
  const controller = new AbortController();
  openRequests.add(controller);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: bytes.toString('utf8'), bytes, headers: res.headers };
  } finally {
    openRequests.delete(controller);
  }
}

const sseHeaders = { Accept: 'text/event-stream' };

/** Asserts status and exact plain-text body of a response. */
function assertText(res, status, text, what) {
  assert.deepEqual({ status: res.status, body: res.body }, { status, body: text }, what);
}

/**
 * A Server-Sent Events response read incrementally: `text` grows as the body
 * arrives, `ended` is set once the server closes the stream.
 */
async function openSse(url) {
  const controller = new AbortController();
  openRequests.add(controller);
  const res = await fetch(url, { headers: sseHeaders, signal: controller.signal });
  const stream = { status: res.status, headers: res.headers, text: '', ended: false, error: null };
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  stream.done = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        stream.text += decoder.decode(value, { stream: true });
      }
    } catch (err) {
      stream.error = err;
    } finally {
      stream.ended = true;
      openRequests.delete(controller);
    }
  })();
  /** Waits until the text received so far satisfies predicate(text). */
  stream.waitForText = (predicate, what, timeoutMs = 5_000) =>
    waitFor(
      () => predicate(stream.text),
      timeoutMs,
      () => `${what}; the stream so far: ${JSON.stringify(stream.text.slice(0, 500))}`,
    );
  stream.close = () => controller.abort();
  return stream;
}

/** Negotiates on `path` and makes the first poll; returns the connection's URL and token. */
async function startLongPolling(path = '/hubs/test') {
  const { connectionToken } = await negotiate(path);
  const url = endpoint(path, connectionToken);
  const first = await request(url);
  assert.equal(first.status, 200, `the first poll answers 200 at once, got ${first.status} ${first.body}`);
  return { url, token: connectionToken, first };
}

/** Long polling with the JSON handshake done (and its `{}` reply polled). */
async function longPollingJson(path = '/hubs/test') {
  const lp = await startLongPolling(path);
  assert.equal((await request(lp.url, { method: 'POST', body: JSON_HANDSHAKE })).status, 200);
  const reply = await request(lp.url);
  assert.deepEqual({ status: reply.status, body: reply.body }, { status: 200, body: `{}${RS}` });
  return lp;
}

/** Splits a JSON poll body into its messages; every record must be complete. */
function records(body) {
  assert.ok(body.endsWith(RS), `a poll body holds whole messages only: ${JSON.stringify(body)}`);
  return body.slice(0, -1).split(RS).map((r) => JSON.parse(r));
}

/** Polls until `count` messages (pings skipped) arrived; returns them. */
async function pollMessages(url, count, timeoutMs = 10_000) {
  const messages = [];
  const deadline = Date.now() + timeoutMs;
  while (messages.length < count) {
    assert.ok(Date.now() < deadline, `timed out polling for ${count} messages, got ${JSON.stringify(messages)}`);
    const res = await request(url);
    assert.equal(res.status, 200, `poll answered ${res.status} ${res.body}`);
    if (res.body === '') continue; // the poll timeout passed without data
    messages.push(...records(res.body).filter((m) => m.type !== 6));
  }
  return messages;
}

const invocation = (invocationId, target, ...args) => ({ type: 1, invocationId, target, arguments: args });
const completion = (invocationId, result) => ({ type: 3, invocationId, result });

// ---------------------------------------------------------------------------

describe('negotiate', () => {
  for (const [path, transports] of Object.entries(ENDPOINTS)) {
    test(`${path} offers exactly ${transports.join(', ')}, in canonical order`, T, async () => {
      const body = await negotiate(path);
      assert.deepEqual(
        body.availableTransports,
        transports.map((t) => OFFERS[t]),
      );
      // Version 0 (no negotiateVersion) offers the same.
      const v0 = await (await fetch(`${server.url}${path}/negotiate`, { method: 'POST' })).json();
      assert.deepEqual(v0.availableTransports, body.availableTransports);
    });
  }
});

describe('transport fallback of the official client', () => {
  /** Connects to `path` and proves the connection works both ways. */
  async function connectAndUse(path, opts) {
    let received;
    const connection = await connect(`${server.url}${path}`, {
      ...opts,
      setup(conn) {
        received = collect(conn, 'Received');
      },
    });
    assert.equal(await connection.invoke('Echo', 'fallback ✓'), 'fallback ✓');
    assert.equal(await connection.invoke('GetConnectionId'), connection.connectionId);
    assert.equal(await connection.invoke('SendToCaller', 'pushed'), null);
    assert.deepEqual(await received.waitForCount(1), ['pushed']);
    return connection;
  }

  test('default options on /hubs/test: WebSockets', T, async () => {
    const connection = await connectAndUse('/hubs/test', { transport: null });
    assert.equal(usedTransport(connection), 'WebSockets');
  });

  test('default options on /hubs/test-no-websockets: ServerSentEvents', T, async () => {
    const connection = await connectAndUse('/hubs/test-no-websockets', { transport: null });
    assert.equal(usedTransport(connection), 'ServerSentEvents');
  });

  test('WebSockets | LongPolling on /hubs/test-no-websockets: LongPolling', T, async () => {
    const connection = await connectAndUse('/hubs/test-no-websockets', { transport: 'WebSockets|LongPolling' });
    assert.equal(usedTransport(connection), 'LongPolling');
  });

  test('messagepack without WebSockets: LongPolling, since SSE is text-only', T, async () => {
    const connection = await connectAndUse('/hubs/test-no-websockets', { transport: null, protocol: 'messagepack' });
    assert.equal(usedTransport(connection), 'LongPolling');
    assert.equal(connection._protocol.name, 'messagepack');
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(Buffer.from(await connection.invoke('EchoBytes', bytes)), Buffer.from(bytes));
  });

  test('default options on /hubs/test-long-polling: LongPolling', T, async () => {
    const connection = await connectAndUse('/hubs/test-long-polling', { transport: null });
    assert.equal(usedTransport(connection), 'LongPolling');
  });

  test('no transport in common: start() fails', T, async () => {
    await assert.rejects(
      connect(`${server.url}/hubs/test-websockets`, { transport: 'ServerSentEvents|LongPolling', quiet: true }),
      /Unable to connect to the server with any of the available transports/,
    );
    await assert.rejects(
      connect(`${server.url}/hubs/test-long-polling`, { transport: 'WebSockets|ServerSentEvents', quiet: true }),
      /Unable to connect to the server with any of the available transports/,
    );
  });
});

describe('status codes of the connection endpoint', () => {
  test('missing id: 400 Connection ID required on GET, SSE GET, POST and DELETE', T, async () => {
    await negotiate(); // a real connection exists; the requests just do not name it
    const url = endpoint('/hubs/test');
    assertText(await request(url), 400, TEXTS.idRequired, 'long-polling GET');
    assertText(await request(url, { headers: sseHeaders }), 400, TEXTS.idRequired, 'SSE GET');
    assertText(await request(url, { method: 'POST', body: JSON_HANDSHAKE }), 400, TEXTS.idRequired, 'POST');
    assertText(await request(url, { method: 'DELETE' }), 400, TEXTS.idRequired, 'DELETE');
  });

  test('an empty id= counts as missing: 400 Connection ID required', T, async () => {
    // ASP.NET Core tests the id with StringValues.IsNullOrEmpty.
    await negotiate();
    const url = `${endpoint('/hubs/test')}?id=`;
    const answers = {
      'long-polling GET': await request(url),
      'SSE GET': await request(url, { headers: sseHeaders }),
      POST: await request(url, { method: 'POST', body: JSON_HANDSHAKE }),
      DELETE: await request(url, { method: 'DELETE' }),
    };
    assert.deepEqual(
      Object.fromEntries(Object.entries(answers).map(([what, res]) => [what, `${res.status} ${res.body}`])),
      Object.fromEntries(Object.keys(answers).map((what) => [what, `400 ${TEXTS.idRequired}`])),
    );
  });

  test('unknown id: 404 No Connection with that ID', T, async () => {
    const { connectionId, connectionToken } = await negotiate();
    for (const id of ['no-such-connection', connectionId]) {
      // The public connectionId is not the token: it is just as unknown.
      const url = endpoint('/hubs/test', id);
      assertText(await request(url), 404, TEXTS.unknownId, `long-polling GET with ${id}`);
      assertText(await request(url, { headers: sseHeaders }), 404, TEXTS.unknownId, `SSE GET with ${id}`);
      assertText(await request(url, { method: 'POST', body: JSON_HANDSHAKE }), 404, TEXTS.unknownId, `POST with ${id}`);
      assertText(await request(url, { method: 'DELETE' }), 404, TEXTS.unknownId, `DELETE with ${id}`);
      const ws = await expectUpgradeRejected(wsEndpoint('/hubs/test', id));
      assert.deepEqual(ws, { status: 404, body: TEXTS.unknownId }, `WebSocket with ${id}`);
    }
    // None of this touched the real connection.
    assert.equal((await request(endpoint('/hubs/test', connectionToken))).status, 200);
  });

  test('a transport disabled on the endpoint: 404 <Transport> transport not supported by this end point type', T, async () => {
    const lpOnly = (await negotiate('/hubs/test-long-polling')).connectionToken;
    assertText(
      await request(endpoint('/hubs/test-long-polling', lpOnly), { headers: sseHeaders }),
      404,
      TEXTS.notSupported('ServerSentEvents'),
      'SSE on /hubs/test-long-polling',
    );
    assert.deepEqual(
      await expectUpgradeRejected(wsEndpoint('/hubs/test-long-polling', lpOnly)),
      { status: 404, body: TEXTS.notSupported('WebSockets') },
      'WebSocket on /hubs/test-long-polling',
    );
    assert.deepEqual(
      await expectUpgradeRejected(wsEndpoint('/hubs/test-long-polling')),
      { status: 404, body: TEXTS.notSupported('WebSockets') },
      'WebSocket without id (skipNegotiation) on /hubs/test-long-polling',
    );
    // The refused requests did not fix the transport: long polling still starts.
    assert.equal((await request(endpoint('/hubs/test-long-polling', lpOnly))).status, 200);

    const wsOnly = (await negotiate('/hubs/test-websockets')).connectionToken;
    assertText(
      await request(endpoint('/hubs/test-websockets', wsOnly)),
      404,
      TEXTS.notSupported('LongPolling'),
      'long polling on /hubs/test-websockets',
    );
    assertText(
      await request(endpoint('/hubs/test-websockets', wsOnly), { headers: sseHeaders }),
      404,
      TEXTS.notSupported('ServerSentEvents'),
      'SSE on /hubs/test-websockets',
    );

    const noWs = (await negotiate('/hubs/test-no-websockets')).connectionToken;
    assert.deepEqual(
      await expectUpgradeRejected(wsEndpoint('/hubs/test-no-websockets', noWs)),
      { status: 404, body: TEXTS.notSupported('WebSockets') },
      'WebSocket on /hubs/test-no-websockets',
    );
  });

  test('switching transports mid-connection: 400 Cannot change transports mid-connection', T, async () => {
    const lp = await startLongPolling();
    assertText(await request(lp.url, { headers: sseHeaders }), 400, TEXTS.cannotChange, 'SSE after long polling');
    const ws = await expectUpgradeRejected(wsEndpoint('/hubs/test', lp.token));
    assert.deepEqual(ws, { status: 400, body: TEXTS.cannotChange }, 'WebSocket after long polling');

    const { connectionToken } = await negotiate();
    const sse = await openSse(endpoint('/hubs/test', connectionToken));
    assert.equal(sse.status, 200);
    assertText(await request(endpoint('/hubs/test', connectionToken)), 400, TEXTS.cannotChange, 'long polling after SSE');
  });

  test('a second SSE request on the same id while the first is open: 409', T, async () => {
    const { connectionToken } = await negotiate();
    const url = endpoint('/hubs/test', connectionToken);
    const first = await openSse(url);
    assert.equal(first.status, 200);
    await first.waitForText((text) => text.startsWith(':'), 'the opening comment');
    const second = await request(url, { headers: sseHeaders });
    assert.equal(second.status, 409);
    // The first stream is unaffected.
    assert.equal((await request(url, { method: 'POST', body: JSON_HANDSHAKE })).status, 200);
    await first.waitForText((text) => text.includes(`data: {}${RS}\r\n\r\n`), 'the handshake reply on the first stream');
  });

  test('POST to a WebSocket connection: 405', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    await hub.handshake();
    const url = endpoint('/hubs/test', hub.negotiation.connectionToken);
    assertText(
      await request(url, { method: 'POST', body: frame(invocation('1', 'Echo', 'sneaky')) }),
      405,
      TEXTS.postToWebSocket,
    );
    hub.sendMessage(invocation('2', 'Echo', 'socket still works'));
    assert.deepEqual(await hub.nextMessage(), completion('2', 'socket still works'));
  });

  test('DELETE on an SSE connection: 400 Cannot terminate this connection using the DELETE endpoint.', T, async () => {
    const { connectionToken } = await negotiate();
    const url = endpoint('/hubs/test', connectionToken);
    const sse = await openSse(url);
    assert.equal(sse.status, 200);
    assertText(await request(url, { method: 'DELETE' }), 400, TEXTS.cannotDelete);
    assert.equal((await request(url, { method: 'POST', body: JSON_HANDSHAKE })).status, 200);
    await sse.waitForText((text) => text.includes(`data: {}${RS}\r\n\r\n`), 'the handshake reply after the refused DELETE');
  });

  test('DELETE on a WebSocket connection: 400 Cannot terminate this connection using the DELETE endpoint.', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    await hub.handshake();
    const url = endpoint('/hubs/test', hub.negotiation.connectionToken);
    assertText(await request(url, { method: 'DELETE' }), 400, TEXTS.cannotDelete);
    hub.sendMessage(invocation('1', 'Echo', 'socket still works'));
    assert.deepEqual(await hub.nextMessage(), completion('1', 'socket still works'));
  });

  test('DELETE before any transport started: 400 Cannot terminate this connection using the DELETE endpoint.', T, async () => {
    // ASP.NET Core: the transport is still None, which is not LongPolling.
    const { connectionToken } = await negotiate();
    assertText(await request(endpoint('/hubs/test', connectionToken), { method: 'DELETE' }), 400, TEXTS.cannotDelete);
  });

  test('DELETE on a long-polling connection: 202, the pending poll answers 204, then the id is gone', T, async () => {
    const lp = await longPollingJson();
    const pending = request(lp.url);
    await sleep(QUIET_MS); // let the poll reach the server and wait there
    const deleted = await request(lp.url, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    assert.equal(deleted.body, '');
    const poll = await waitFor(pending, 5_000, 'the pending poll to end after DELETE');
    assert.deepEqual({ status: poll.status, body: poll.body }, { status: 204, body: '' });
    // The connection is removed: eventually its token is unknown.
    let last;
    await waitFor(
      async () => {
        last = await request(lp.url, { method: 'POST', body: frame(invocation('1', 'Echo', 'late')) });
        return last.status === 404;
      },
      5_000,
      () => `404 for a POST after DELETE; last ${last?.status} ${last?.body}`,
    );
    assert.equal(last.body, TEXTS.unknownId);
  });

  test('other methods: 405', T, async () => {
    const { connectionToken } = await negotiate();
    const url = endpoint('/hubs/test', connectionToken);
    for (const method of ['PUT', 'PATCH']) {
      const res = await request(url, { method, body: 'x' });
      assert.equal(res.status, 405, `${method} on the connection endpoint`);
    }
    assert.equal((await request(`${server.url}/hubs/test/negotiate`)).status, 405, 'GET on negotiate');
    assert.equal((await request(`${server.url}/hubs/test/negotiate`, { method: 'PUT' })).status, 405, 'PUT on negotiate');
    // None of it hurt the connection.
    assert.equal((await request(url)).status, 200);
  });
});

describe('long polling by hand', () => {
  test('first poll, handshake, invocations and their completions', T, async () => {
    const lp = await startLongPolling();
    assert.equal(lp.first.body, '', 'the first poll is empty');
    assert.equal(lp.first.headers.get('content-type'), 'application/octet-stream');

    const hs = await request(lp.url, { method: 'POST', body: JSON_HANDSHAKE });
    assert.deepEqual({ status: hs.status, body: hs.body }, { status: 200, body: '' });
    const reply = await request(lp.url);
    assert.deepEqual({ status: reply.status, body: reply.body }, { status: 200, body: `{}${RS}` });

    // Two invocations in one POST body; a fire-and-forget push to the caller too.
    const sent = await request(lp.url, {
      method: 'POST',
      body:
        frame(invocation('1', 'Echo', 'over polls ✓')) +
        frame(invocation('2', 'Add', 40, 2)) +
        frame({ type: 1, target: 'SendToCaller', arguments: ['pushed'] }),
    });
    assert.deepEqual({ status: sent.status, body: sent.body }, { status: 200, body: '' });
    const messages = await pollMessages(lp.url, 3);
    assert.deepEqual(
      messages.filter((m) => m.type === 3).sort((a, b) => a.invocationId.localeCompare(b.invocationId)),
      [completion('1', 'over polls ✓'), completion('2', 42)],
    );
    assert.deepEqual(
      messages.filter((m) => m.type === 1),
      [{ type: 1, target: 'Received', arguments: ['pushed'] }],
    );

    // Messages wait for the next poll when none is pending.
    await request(lp.url, { method: 'POST', body: frame(invocation('3', 'Echo', 'buffered')) });
    await sleep(QUIET_MS);
    assert.deepEqual(await pollMessages(lp.url, 1), [completion('3', 'buffered')]);
  });

  test('every poll response carries Cache-Control no-cache and Expires', T, async () => {
    const lp = await startLongPolling();
    const polls = { 'the first poll (200, empty)': lp.first };
    await request(lp.url, { method: 'POST', body: JSON_HANDSHAKE });
    polls['a poll with data (200)'] = await request(lp.url);
    const superseded = request(lp.url);
    await sleep(QUIET_MS);
    const newer = request(lp.url);
    polls['a superseded poll (204)'] = await superseded;
    await request(lp.url, { method: 'DELETE' });
    polls['the poll ended by DELETE (204)'] = await newer;
    const problems = [];
    for (const [what, res] of Object.entries(polls)) {
      const cacheControl = res.headers.get('cache-control') ?? '';
      const expires = res.headers.get('expires');
      if (!/no-cache/.test(cacheControl) || expires !== EPOCH) {
        problems.push(`${what}: HTTP ${res.status}, Cache-Control ${JSON.stringify(cacheControl)}, Expires ${JSON.stringify(expires)}`);
      }
    }
    assert.deepEqual(problems, [], `expected Cache-Control with no-cache and Expires: ${EPOCH} on every poll`);
  });

  test('a poll superseded by a newer poll answers 204; the newer one gets the data', T, async () => {
    const lp = await longPollingJson();
    const a = request(lp.url);
    await sleep(QUIET_MS);
    const b = request(lp.url);
    const first = await waitFor(a, 5_000, 'poll A to end once poll B arrived');
    assert.deepEqual({ status: first.status, body: first.body }, { status: 204, body: '' });
    await request(lp.url, { method: 'POST', body: frame(invocation('1', 'Echo', 'for B')) });
    const second = await waitFor(b, 5_000, 'poll B to deliver the completion');
    assert.equal(second.status, 200);
    assert.deepEqual(records(second.body), [completion('1', 'for B')]);
  });

  test('messagepack: the reply and the messages travel as binary poll bodies', T, async () => {
    const lp = await startLongPolling();
    await request(lp.url, { method: 'POST', body: frame({ protocol: 'messagepack', version: 1 }) });
    const reply = await request(lp.url);
    assert.equal(reply.status, 200);
    assert.ok(reply.bytes.equals(Buffer.from(`{}${RS}`)), `the handshake reply, got ${reply.bytes.toString('hex')}`);

    const body = Buffer.concat([
      binaryFrame(encode([1, {}, '1', 'Echo', ['binary ✓']])),
      binaryFrame(encode([1, {}, '2', 'EchoBytes', [Uint8Array.from([0, 1, 0x1e, 0xff])]])),
    ]);
    const sent = await request(lp.url, { method: 'POST', body });
    assert.equal(sent.status, 200);
    const decoded = [];
    const deadline = Date.now() + 10_000;
    while (decoded.length < 2 && Date.now() < deadline) {
      const res = await request(lp.url);
      assert.equal(res.status, 200);
      let rest = res.bytes;
      while (rest.length > 0) {
        let length = 0;
        let i = 0;
        let byte;
        do {
          byte = rest[i];
          length |= (byte & 0x7f) << (7 * i);
          i++;
        } while (byte & 0x80);
        assert.ok(rest.length >= i + length, 'a poll body holds whole messages only');
        const message = decode(rest.subarray(i, i + length));
        if (message[0] !== 6) decoded.push(message);
        rest = rest.subarray(i + length);
      }
    }
    decoded.sort((x, y) => x[2].localeCompare(y[2]));
    assert.deepEqual(decoded[0], [3, {}, '1', 3, 'binary ✓']);
    assert.deepEqual(decoded[1].slice(0, 4), [3, {}, '2', 3]);
    assert.deepEqual(Buffer.from(decoded[1][4]), Buffer.from([0, 1, 0x1e, 0xff]));
  });
});

describe('server-sent events by hand', () => {
  test('headers, the opening comment, and hub messages as events', T, async () => {
    const { connectionToken } = await negotiate();
    const url = endpoint('/hubs/test', connectionToken);
    const sse = await openSse(url);
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(sse.headers.get('cache-control') ?? '', /no-cache/);
    await sse.waitForText((text) => text.length >= 3, 'the opening comment');
    assert.ok(sse.text.startsWith(':\r\n'), `the stream starts with ":\\r\\n": ${JSON.stringify(sse.text)}`);

    const hs = await request(url, { method: 'POST', body: JSON_HANDSHAKE });
    assert.deepEqual({ status: hs.status, body: hs.body }, { status: 200, body: '' });
    await sse.waitForText((text) => text.length > 3, 'the handshake reply');
    assert.equal(sse.text, `:\r\ndata: {}${RS}\r\n\r\n`);

    await request(url, { method: 'POST', body: frame(invocation('1', 'Echo', 'line1\nline2')) });
    const event = `data: ${JSON.stringify(completion('1', 'line1\nline2'))}${RS}\r\n\r\n`;
    await sse.waitForText((text) => text.includes(event), 'the completion as one event');
    assert.equal(sse.text, `:\r\ndata: {}${RS}\r\n\r\n${event}`);
  });

  test('a messagepack handshake gets the Binary transfer format error, and the stream ends', T, async () => {
    const { connectionToken } = await negotiate();
    const url = endpoint('/hubs/test', connectionToken);
    const sse = await openSse(url);
    assert.equal(sse.status, 200);
    await request(url, { method: 'POST', body: frame({ protocol: 'messagepack', version: 1 }) });
    const error = {
      error:
        "Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format.",
    };
    const event = `data: ${JSON.stringify(error)}${RS}\r\n\r\n`;
    await sse.waitForText((text) => text.includes(event), 'the handshake error event');
    assert.equal(sse.text, `:\r\n${event}`);
    await waitFor(() => sse.ended, 5_000, 'the server to end the SSE response');
  });
});

describe('hub code sees the transport (GetActiveTransportName)', () => {
  for (const transport of ['WebSockets', 'ServerSentEvents', 'LongPolling']) {
    test(transport, T, async () => {
      const connection = await connect(`${server.url}/hubs/test`, { transport });
      assert.equal(await connection.invoke('GetActiveTransportName'), transport);
    });
  }
});

describe('idle long polls are swept, SSE streams are not', () => {
  // /hubs/test-quick-sweep closes long-polling connections that stop polling for 2 s.
  const SWEEP_MS = 2_000;

  test('SSE connections outlive the sweep many times over while long-polling clients come and go', { timeout: 30_000 }, async () => {
    const url = `${server.url}/hubs/test-quick-sweep`;
    const closed = [];
    const sse = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const connection = await connect(url, { transport: 'ServerSentEvents' });
        connection.onclose((error) => closed.push(`SSE ${n}: ${error?.message ?? 'closed'}`));
        return connection;
      }),
    );
    // Long-polling clients connect, call and stop, so the sweep runs throughout.
    const started = performance.now();
    let cycles = 0;
    while (performance.now() - started < 4 * SWEEP_MS) {
      const polling = await connect(url, { transport: 'LongPolling' });
      assert.equal(await polling.invoke('Echo', `lp ${cycles}`), `lp ${cycles}`);
      await polling.stop();
      cycles += 1;
    }
    await sleep(SWEEP_MS);
    assert.deepEqual(closed, [], 'no SSE connection was closed');
    for (const [i, connection] of sse.entries()) {
      assert.equal(await connection.invoke('Echo', `still here ${i}`), `still here ${i}`);
    }
    assert.ok(cycles >= 3, `only ${cycles} long-polling clients came and went`);
  });

  test('a long-polling client that stops polling is closed after the disconnect timeout', { timeout: 30_000 }, async () => {
    const { connectionToken } = await negotiate('/hubs/test-quick-sweep');
    const pollUrl = endpoint('/hubs/test-quick-sweep', connectionToken);
    assert.equal((await request(pollUrl)).status, 200, 'the first poll answers at once');
    await request(pollUrl, { method: 'POST', body: JSON_HANDSHAKE });
    // No further poll: the sweep closes the connection, and its token is gone.
    await sleep(SWEEP_MS + 1_500);
    const poll = await request(pollUrl);
    assert.deepEqual({ status: poll.status, body: poll.body }, { status: 404, body: TEXTS.unknownId });
  });
});

describe('automatic reconnect after the server restarts on the same port', () => {
  /** An ILogger that keeps what the client logs, for failure messages. */
  function recordingLogger() {
    const lines = [];
    return {
      lines,
      log(level, message) {
        if (level >= LogLevel.Information) lines.push(`${LogLevel[level]}: ${message}`);
      },
    };
  }

  for (const transport of ['WebSockets', 'ServerSentEvents', 'LongPolling']) {
    test(`over ${transport}: onreconnecting, then onreconnected with a new connection id`, { timeout: 60_000 }, async () => {
      let own = await startServer('interop');
      const logger = recordingLogger();
      const events = [];
      let connection;
      try {
        connection = await connect(`${own.url}/hubs/test`, {
          transport,
          logger,
          reconnect: [0, 200, 500, 1000, 1000, 2000, 2000, 2000, 5000],
          setup(conn) {
            conn.onreconnecting((error) => events.push({ event: 'reconnecting', error: error?.message }));
            conn.onreconnected((id) => events.push({ event: 'reconnected', id }));
            conn.onclose((error) => events.push({ event: 'close', error: error?.message }));
          },
        });
        assert.equal(usedTransport(connection), transport);
        const oldId = connection.connectionId;
        assert.equal(await connection.invoke('GetConnectionId'), oldId);

        own = await own.restart();
        const describeState = () => `events ${JSON.stringify(events)}; client log:\n${logger.lines.join('\n')}`;
        await waitFor(() => events.some((e) => e.event === 'reconnected'), 30_000, () => `onreconnected; ${describeState()}`);
        assert.equal(events[0].event, 'reconnecting', describeState());
        const reconnected = events.find((e) => e.event === 'reconnected');
        assert.equal(typeof reconnected.id, 'string');
        assert.notEqual(reconnected.id, oldId, 'the restarted server knows nothing of the old connection');
        assert.equal(connection.connectionId, reconnected.id);
        assert.equal(usedTransport(connection), transport);
        assert.equal(await connection.invoke('Echo', 'back again'), 'back again');
        assert.equal(await connection.invoke('GetConnectionId'), reconnected.id);
        assert.ok(!events.some((e) => e.event === 'close'), describeState());
      } finally {
        await connection?.stop();
        await own.stop();
      }
    });
  }
});
