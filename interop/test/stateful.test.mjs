// Stateful reconnect with the official client (`withStatefulReconnect()`): sockets cut by a
// proxy mid-stream, and every message in both directions arrives exactly once and in order;
// what the server sends keeps moving while it reads nothing of the client's.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpTransportType, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { collect, hubProtocol, PROTOCOLS, sleep, startServer, waitFor } from '../lib/server.mjs';
import { startProxy } from '../lib/proxy.mjs';

const T = { timeout: 60_000 };
let server;
let proxy;

before(async () => {
  server = await startServer('interop');
  proxy = await startProxy(server.port);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});
const open = new Set();
afterEach(async () => {
  await Promise.allSettled([...open].map((c) => c.stop()));
  open.clear();
});

async function negotiate(path) {
  const response = await fetch(`${server.url}${path}/negotiate?negotiateVersion=1&useStatefulReconnect=true`, {
    method: 'POST',
  });
  return response.json();
}

test('negotiate offers stateful reconnect only where the hub allows it', T, async () => {
  assert.equal((await negotiate('/hubs/test-stateful')).useStatefulReconnect, true);
  assert.equal('useStatefulReconnect' in (await negotiate('/hubs/test')), false);
  const plain = await (await fetch(`${server.url}/hubs/test-stateful/negotiate?negotiateVersion=1`, { method: 'POST' })).json();
  assert.equal('useStatefulReconnect' in plain, false, 'not offered unless asked for');
});

for (const protocol of PROTOCOLS) {
  describe(`stateful reconnect over WebSockets + ${protocol}`, () => {
    async function statefulClient(via = proxy) {
      const connection = new HubConnectionBuilder()
        .withUrl(`${via.url}/hubs/test-stateful`, { transport: HttpTransportType.WebSockets })
        .withHubProtocol(hubProtocol(protocol))
        .withStatefulReconnect()
        .configureLogging(LogLevel.None)
        .build();
      open.add(connection);
      const received = collect(connection, 'Received');
      const events = [];
      connection.onreconnecting(() => events.push('reconnecting'));
      connection.onclose((error) => events.push(`closed: ${error?.message}`));
      await connection.start();
      return { connection, received, events };
    }

    test('server-to-client messages survive cut sockets, each exactly once and in order', T, async () => {
      const { connection, received, events } = await statefulClient();
      const id = connection.connectionId;
      const count = 80;
      const done = connection.invoke('SendSequence', count, 8);
      for (const at of [120, 300, 480]) {
        await sleep(at - (at === 120 ? 0 : 180));
        assert.ok(proxy.cutAll() > 0, 'there was a socket to cut');
      }
      assert.equal(await done, count, 'the Completion arrives after the reconnects');
      await received.waitForCount(count, 20_000);
      await sleep(200);
      assert.deepEqual(received.items, Array.from({ length: count }, (_, i) => String(i)));
      assert.equal(connection.connectionId, id, 'the same connection throughout');
      assert.deepEqual(events, [], 'no reconnecting or close events: the reconnect was transparent');
      assert.equal(await connection.invoke('Echo', 'still here'), 'still here');
    });

    test('client-to-server messages survive cut sockets, each exactly once and in order', T, async () => {
      const { connection } = await statefulClient();
      const count = 120;
      for (let i = 0; i < count; i++) {
        await connection.send('Record', i);
        if (i === 40 || i === 80) proxy.cutAll();
        await sleep(3);
      }
      const recorded = await waitFor(async () => {
        const values = await connection.invoke('Recorded');
        return values.length >= count ? values : null;
      }, 20_000, 'every recorded value');
      assert.deepEqual(recorded, Array.from({ length: count }, (_, i) => i));
    });

    test('while a long call holds the only slot, what the server sends still arrives', T, async () => {
      // One call at a time (the default): the echoes wait for SendSequence (40 messages,
      // 50 ms apart), and the server reads nothing of the client's meanwhile. Its messages
      // to the client must not wait with them. Not through the proxy: it would join the
      // echoes into fewer reads.
      const { connection, received } = await statefulClient(server);
      const started = Date.now();
      const done = connection.invoke('SendSequence', 40, 50);
      const echoes = [];
      for (let i = 0; i < 40; i++) {
        echoes.push(connection.invoke('Echo', String(i)));
        await sleep(1);
      }
      await received.waitForCount(20, 10_000);
      const took = Date.now() - started;
      assert.ok(took < 1600, `the 20th message came after ${took} ms; the 20th is sent at about 1 s, the Completion at 2 s`);
      assert.equal(await done, 40);
      assert.deepEqual(await Promise.all(echoes), Array.from({ length: 40 }, (_, i) => String(i)));
      assert.deepEqual(received.items, Array.from({ length: 40 }, (_, i) => String(i)));
    });
  });
}
