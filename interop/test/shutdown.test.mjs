// Graceful shutdown of the example servers with the official client on every
// transport: on SIGTERM each client is closed by the server's Close message
// (onclose without an error, or a reconnect when the client asked for automatic
// reconnect and the server allows it), the hub's on_disconnected runs for each
// connection (the chat example logs "user disconnected"), and the process exits
// on its own, with status 0, within 2 s.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { COMBINATIONS, cleanup, connect, startServer, waitFor } from '../lib/server.mjs';

const T = { timeout: 30_000 };
/** The bound for a shutdown with connections open. */
const EXIT_MS = 2_000;

afterEach(async (t) => {
  await cleanup(t);
});

/** Connects to the chat hub and records how the client's connection ends. */
async function chatClient(server, { transport, protocol, reconnect } = {}) {
  const events = { closed: null, reconnecting: null };
  const connection = await connect(`${server.url}/hubs/chat`, {
    transport,
    protocol,
    reconnect,
    setup(c) {
      c.onclose((error) => {
        events.closed = { error };
      });
      c.onreconnecting((error) => {
        events.reconnecting = { error };
      });
    },
  });
  // Read now: the client forgets it once closed.
  return { connection, events, id: connection.connectionId };
}

/** SIGTERM; resolves with the exit and how long it took. */
async function terminate(server) {
  const started = Date.now();
  const exit = await server.stop();
  return { exit, ms: Date.now() - started };
}

function assertExitedCleanly(server, { exit, ms }) {
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, server.log());
  assert.ok(ms < EXIT_MS, `the server took ${ms} ms to exit`);
  assert.match(server.log(), /shut down/);
}

function disconnectedLogged(server, connectionId) {
  return server
    .log()
    .split('\n')
    .some((line) => line.includes('user disconnected') && line.includes(connectionId));
}

describe('SIGTERM closes every client cleanly', () => {
  for (const { name, transport, protocol } of COMBINATIONS) {
    test(name, T, async () => {
      const server = await startServer('chat', { env: { RUST_LOG: 'info' } });
      const clients = [];
      for (let i = 0; i < 3; i++) clients.push(await chatClient(server, { transport, protocol }));
      const exit = await terminate(server);
      assertExitedCleanly(server, exit);
      for (const { events, id } of clients) {
        await waitFor(() => events.closed, 5_000, 'onclose');
        assert.equal(events.closed.error, undefined, `closed with ${events.closed.error}`);
        assert.equal(events.reconnecting, null);
        assert.ok(disconnectedLogged(server, id), server.log());
      }
    });
  }

  test('every transport at once', T, async () => {
    const server = await startServer('chat', { env: { RUST_LOG: 'info' } });
    const clients = await Promise.all(
      COMBINATIONS.map((c) => chatClient(server, { transport: c.transport, protocol: c.protocol })),
    );
    const exit = await terminate(server);
    assertExitedCleanly(server, exit);
    for (const { events, id } of clients) {
      await waitFor(() => events.closed, 5_000, 'onclose');
      assert.equal(events.closed.error, undefined);
      assert.ok(disconnectedLogged(server, id));
    }
  });
});

describe('reconnecting clients', () => {
  for (const transport of ['WebSockets', 'ServerSentEvents', 'LongPolling']) {
    test(`${transport}: reconnect to the restarted server (allowReconnect)`, T, async () => {
      let server = await startServer('chat', { env: { RUST_LOG: 'info' } });
      const reconnect = [0, 500, 500, 500, 500, 500];
      const { connection, events, id: firstId } = await chatClient(server, { transport, reconnect });
      let reconnected = false;
      connection.onreconnected(() => {
        reconnected = true;
      });
      const started = Date.now();
      server = await server.restart({ signal: 'SIGTERM' });
      assert.ok(Date.now() - started < EXIT_MS + 1_000);
      await waitFor(() => events.reconnecting, 5_000, 'onreconnecting');
      assert.equal(events.reconnecting.error, undefined);
      await waitFor(() => reconnected, 10_000, 'onreconnected');
      assert.equal(events.closed, null);
      assert.notEqual(connection.connectionId, firstId);
      await connection.stop();
      await server.stop();
    });
  }

  test('without allowReconnect the client closes instead', T, async () => {
    const server = await startServer('chat', {
      env: { RUST_LOG: 'info', SHUTDOWN_ALLOW_RECONNECT: '0' },
    });
    const { events, id } = await chatClient(server, { reconnect: true });
    const exit = await terminate(server);
    assertExitedCleanly(server, exit);
    await waitFor(() => events.closed, 5_000, 'onclose');
    assert.equal(events.closed.error, undefined);
    assert.equal(events.reconnecting, null, 'the client tried to reconnect');
    assert.ok(disconnectedLogged(server, id));
  });
});
