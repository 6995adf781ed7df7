// The official @microsoft/signalr client against the `chat` example, over every
// transport × hub protocol combination (the load test with fewer connections over
// Server-Sent Events and Long Polling), plus skipNegotiation (WebSockets only).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, collect, COMBINATIONS, connect, QUIET_MS, sleep, startServer, waitFor } from '../lib/server.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

let server;
let hubUrl;

before(async () => {
  server = await startServer('chat');
  hubUrl = `${server.url}/hubs/chat`;
});
after(async () => {
  await server?.stop();
});
afterEach(cleanup);

/** Connects to the chat hub with a collector for every client method the hub calls. */
async function chatClient(opts = {}) {
  let collectors;
  const connection = await connect(hubUrl, {
    ...opts,
    setup(conn) {
      collectors = {
        connected: collect(conn, 'UserConnected'),
        disconnected: collect(conn, 'UserDisconnected'),
        joined: collect(conn, 'UserJoined'),
        left: collect(conn, 'UserLeft'),
        messages: collect(conn, 'ReceiveMessage'),
      };
    },
  });
  return { connection, id: connection.connectionId, ...collectors };
}

const count = (items, value) => items.filter((x) => x === value).length;

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`over ${name}`, () => {
    const client = (opts = {}) => chatClient({ transport, protocol, ...opts });

    test('SendMessage is broadcast to every connection, including the sender', T, async () => {
      const a = await client();
      const b = await client();
      const c = await client();

      const result = await a.connection.invoke('SendMessage', 'alice', 'hello everyone');
      assert.equal(result, null, 'SendMessage returns nothing, so invoke resolves to null');

      for (const x of [a, b, c]) await x.messages.waitForCount(1);
      await sleep(QUIET_MS);
      for (const x of [a, b, c]) assert.deepEqual(x.messages.items, [['alice', 'hello everyone']]);
    });

    test('UserConnected reaches existing clients and the new one; UserDisconnected follows stop()', T, async () => {
      const a = await client();
      assert.equal(typeof a.id, 'string');
      assert.ok(a.id.length > 0);
      // The new client itself gets UserConnected with its own id.
      await a.connected.waitForCount(1);
      assert.deepEqual(a.connected.items, [a.id]);

      const b = await client();
      assert.notEqual(b.id, a.id);
      await b.connected.waitForCount(1);
      await a.connected.waitForCount(2);
      await sleep(QUIET_MS);
      assert.deepEqual(b.connected.items, [b.id], 'the new client sees only its own UserConnected');
      assert.deepEqual(a.connected.items, [a.id, b.id], 'the existing client sees the new id once');

      await b.connection.stop();
      await a.disconnected.waitForItem((id) => id === b.id);
      await sleep(QUIET_MS);
      assert.equal(count(a.disconnected.items, b.id), 1, 'UserDisconnected(b) arrives exactly once');
      assert.equal(count(a.disconnected.items, a.id), 0);
      assert.deepEqual(b.disconnected.items, [], 'the leaver gets no UserDisconnected about itself');
    });

    test('groups: join, send to group, leave', T, async () => {
      const group = 'room-1';
      const a = await client();
      const b = await client();
      const c = await client(); // never joins

      assert.equal(await a.connection.invoke('JoinGroup', group), null);
      await a.joined.waitForCount(1);
      assert.deepEqual(a.joined.items, [[a.id, group]], 'the joiner gets its own UserJoined');

      assert.equal(await b.connection.invoke('JoinGroup', group), null);
      await a.joined.waitForCount(2);
      await b.joined.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(a.joined.items, [[a.id, group], [b.id, group]]);
      assert.deepEqual(b.joined.items, [[b.id, group]], 'b joined after a, so it sees only its own join');
      assert.deepEqual(c.joined.items, [], 'a non-member gets no UserJoined');

      // A non-member may send to the group; only members receive it.
      assert.equal(await c.connection.invoke('SendMessageToGroup', group, 'carol', 'to the room'), null);
      await a.messages.waitForCount(1);
      await b.messages.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(a.messages.items, [['carol', 'to the room']]);
      assert.deepEqual(b.messages.items, [['carol', 'to the room']]);
      assert.deepEqual(c.messages.items, [], 'the non-member must not receive group messages');

      // a leaves: only the remaining member b is told.
      assert.equal(await a.connection.invoke('LeaveGroup', group), null);
      await b.left.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(b.left.items, [[a.id, group]]);
      assert.deepEqual(a.left.items, [], 'the leaver does not get UserLeft');
      assert.deepEqual(c.left.items, []);

      // Later group messages no longer reach a.
      await b.connection.invoke('SendMessageToGroup', group, 'bob', 'after leave');
      await b.messages.waitForCount(2);
      await sleep(QUIET_MS);
      assert.deepEqual(b.messages.items, [['carol', 'to the room'], ['bob', 'after leave']]);
      assert.deepEqual(a.messages.items, [['carol', 'to the room']], 'the leaver must not get later group messages');
      assert.deepEqual(c.messages.items, []);
    });

    test('two groups are independent', T, async () => {
      const a = await client();
      const b = await client();
      await a.connection.invoke('JoinGroup', 'red');
      await b.connection.invoke('JoinGroup', 'blue');
      await a.connection.invoke('SendMessageToGroup', 'blue', 'alice', 'to blue');
      await a.connection.invoke('SendMessageToGroup', 'red', 'alice', 'to red');
      await a.messages.waitForCount(1);
      await b.messages.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(a.messages.items, [['alice', 'to red']]);
      assert.deepEqual(b.messages.items, [['alice', 'to blue']]);
    });

    test('hub method names are matched case-insensitively', T, async () => {
      const a = await client();
      const b = await client();
      assert.equal(await a.connection.invoke('sendmessage', 'u', 'lower'), null);
      assert.equal(await a.connection.invoke('SENDMESSAGE', 'u', 'upper'), null);
      assert.equal(await a.connection.invoke('sEnDmEsSaGe', 'u', 'mixed'), null);
      await b.messages.waitForCount(3);
      await sleep(QUIET_MS);
      const expected = [['u', 'lower'], ['u', 'upper'], ['u', 'mixed']];
      assert.deepEqual(b.messages.items, expected);
      assert.deepEqual(a.messages.items, expected);
    });

    // The load test: 200 receivers over WebSockets, fewer over the HTTP transports
    // (every receiver holds a request open and every message is an HTTP response
    // or an SSE event), to keep the run short on small machines.
    const RECEIVERS = transport === 'WebSockets' ? 200 : 50;
    const MESSAGES = 30;

    test(`${RECEIVERS} connections each receive ${MESSAGES} broadcasts exactly once and in order`, { timeout: 100_000 }, async () => {
      const BATCH = 20;

      const receivers = [];
      for (let i = 0; i < RECEIVERS; i += BATCH) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(BATCH, RECEIVERS - i) }, () => client({ quiet: true })),
        );
        receivers.push(...batch);
      }
      assert.equal(receivers.length, RECEIVERS);
      assert.equal(new Set(receivers.map((r) => r.id)).size, RECEIVERS, 'connection ids are unique');

      const sender = await client({ quiet: true });
      for (let i = 0; i < MESSAGES; i++) {
        assert.equal(await sender.connection.invoke('SendMessage', 'load', String(i)), null);
      }
      const expected = Array.from({ length: MESSAGES }, (_, i) => ['load', String(i)]);

      const everyone = [...receivers, sender];
      await waitFor(
        () => everyone.every((r) => r.messages.length >= MESSAGES),
        60_000,
        () => {
          const short = everyone.filter((r) => r.messages.length < MESSAGES);
          return `all ${everyone.length} connections to get ${MESSAGES} messages; ${short.length} short, e.g. counts ${short
            .slice(0, 10)
            .map((r) => r.messages.length)
            .join(',')}`;
        },
      );
      await sleep(QUIET_MS);

      const wrong = everyone
        .map((r, index) => ({ index, items: r.messages.items }))
        .filter(({ items }) => JSON.stringify(items) !== JSON.stringify(expected));
      assert.deepEqual(
        wrong.slice(0, 3),
        [],
        `${wrong.length} of ${everyone.length} connections received something other than "0".."${MESSAGES - 1}" exactly once in order`,
      );
      for (const r of everyone) assert.deepEqual(r.messages.items, expected);
    });
  });
}

describe('WebSockets only', () => {
  test('skipNegotiation WebSockets connection can invoke and receive', T, async () => {
    const normal = await chatClient();
    const skip = await chatClient({ skipNegotiation: true, transport: 'WebSockets' });
    assert.equal(skip.connection.connectionId, null, 'the client learns no connectionId without negotiate');

    // The server still assigns an id and announces it to everyone.
    await skip.connected.waitForCount(1);
    const skipId = skip.connected.items[0];
    assert.equal(typeof skipId, 'string');
    assert.ok(skipId.length > 0);
    assert.notEqual(skipId, normal.id);
    await normal.connected.waitForItem((id) => id === skipId);

    assert.equal(await skip.connection.invoke('SendMessage', 'skipper', 'from skip'), null);
    assert.equal(await normal.connection.invoke('SendMessage', 'normal', 'from normal'), null);
    await skip.messages.waitForCount(2);
    await normal.messages.waitForCount(2);
    await sleep(QUIET_MS);
    const expected = [['skipper', 'from skip'], ['normal', 'from normal']];
    assert.deepEqual(skip.messages.items, expected);
    assert.deepEqual(normal.messages.items, expected);

    await skip.connection.stop();
    await normal.disconnected.waitForItem((id) => id === skipId);
  });
});

test('the chat example serves the hub metrics for Prometheus at /metrics', async () => {
  const connection = await connect(`${server.url}/hubs/chat`, {
    setup(conn) {
      conn.on('UserConnected', () => {});
      conn.on('ReceiveMessage', () => {});
    },
  });
  await connection.invoke('SendMessage', 'metrics', 'hello');
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  assert.match(text, /^signalr_server_active_connections\{signalr_transport="web_sockets"\} [1-9]/m);
  assert.match(text, /^signalr_server_messages_received [1-9]/m);
  assert.match(text, /^signalr_server_messages_sent [1-9]/m);
});
