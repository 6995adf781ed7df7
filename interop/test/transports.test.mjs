// The three transports of the `interop` example side by side: what negotiate
// offers per endpoint, how the official client falls back when WebSockets is
// off, the status codes and texts of the connection endpoint (plain `fetch`),
// and automatic reconnect after the server process is killed and restarted on
// the same port. Long polling and Server-Sent Events spoken by hand are in
// long-polling-and-sse.test.mjs.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogLevel } from '@microsoft/signalr';
import {
  collect,
  connect,
  QUIET_MS,
  sleep,
  startServer,
  usedTransport,
  useServer,
  waitFor,
} from '../lib/server.mjs';
import { expectUpgradeRejected, frame, JSON_HANDSHAKE, RawHub, RS, terminateAllRaw } from '../lib/raw.mjs';
import {
  abortOpenRequests,
  assertText,
  completion,
  invocation,
  plainHttp,
  sseHeaders,
  TEXTS,
} from '../lib/http.mjs';

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

afterEach(() => {
  abortOpenRequests();
  terminateAllRaw();
});
const server = useServer('interop');

const { negotiate, endpoint, wsEndpoint, request, openSse, startLongPolling, longPollingJson } = plainHttp(
  () => server.url,
);

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

describe('hub code sees the transport (GetActiveTransportName)', () => {
  for (const transport of ['WebSockets', 'ServerSentEvents', 'LongPolling']) {
    test(transport, T, async () => {
      const connection = await connect(`${server.url}/hubs/test`, { transport });
      assert.equal(await connection.invoke('GetActiveTransportName'), transport);
    });
  }
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
