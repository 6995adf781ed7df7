// The official @microsoft/signalr client against the `chat` example, over every
// transport × hub protocol combination (the load test with fewer connections over
// Server-Sent Events and Long Polling), plus skipNegotiation (WebSockets only), and the
// hub's names and refusals. People are named with `?name=` in the hub URL and `SetName`;
// messages and events are the DTOs of examples/src/chat.rs (ChatMessage, ChatUser, ...).
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

let clients = 0;

/**
 * Connects to the chat hub as `name` (a fresh one unless given; `name: null` gives none)
 * with a collector for every client method the hub calls.
 */
async function chatClient({ name = `user-${++clients}`, ...opts } = {}) {
  let collectors;
  const url = name === null ? hubUrl : `${hubUrl}?name=${encodeURIComponent(name)}`;
  const connection = await connect(url, {
    ...opts,
    setup(conn) {
      collectors = {
        connected: collect(conn, 'UserConnected'),
        disconnected: collect(conn, 'UserDisconnected'),
        renamed: collect(conn, 'UserRenamed'),
        joined: collect(conn, 'UserJoined'),
        left: collect(conn, 'UserLeft'),
        messages: collect(conn, 'ReceiveMessage'),
      };
    },
  });
  return { connection, id: connection.connectionId, name, ...collectors };
}

/** A client as the hub's events name it (ChatUser). */
const user = (client) => ({ connectionId: client.id, name: client.name });

/** The received ChatMessages as [user, text, group], the time left out. */
const lines = (client) => client.messages.items.map((m) => [m.user, m.text, m.group]);

/** The message of a HubError (HubException) as the official client reports it. */
const refusal = (method, message) =>
  `An unexpected error occurred invoking '${method}' on the server. HubException: ${message}`;

const count = (items, value) => items.filter((x) => x === value).length;

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`over ${name}`, () => {
    const client = (opts = {}) => chatClient({ transport, protocol, ...opts });

    test('SendMessage is broadcast to every connection, including the sender, by name and with a time', T, async () => {
      const a = await client({ name: 'alice' });
      const b = await client();
      const c = await client();

      const before = Date.now();
      const result = await a.connection.invoke('SendMessage', 'hello everyone');
      assert.equal(result, null, 'SendMessage returns nothing, so invoke resolves to null');

      for (const x of [a, b, c]) await x.messages.waitForCount(1);
      await sleep(QUIET_MS);
      for (const x of [a, b, c]) assert.deepEqual(lines(x), [['alice', 'hello everyone', null]]);
      // hubs::Timestamp: an ISO string in JSON, a Date (the timestamp extension) in MessagePack.
      const { sentAt } = b.messages.items[0];
      if (protocol === 'messagepack') assert.ok(sentAt instanceof Date, `sentAt ${sentAt}`);
      else assert.match(sentAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.ok(Math.abs(new Date(sentAt).getTime() - before) < 10_000, `sentAt ${sentAt}`);
    });

    test('UserConnected reaches existing clients and the new one; UserDisconnected follows stop()', T, async () => {
      const a = await client();
      assert.equal(typeof a.id, 'string');
      assert.ok(a.id.length > 0);
      // The new client itself gets UserConnected with its own id and name.
      await a.connected.waitForCount(1);
      assert.deepEqual(a.connected.items, [user(a)]);

      const b = await client();
      assert.notEqual(b.id, a.id);
      await b.connected.waitForCount(1);
      await a.connected.waitForCount(2);
      await sleep(QUIET_MS);
      assert.deepEqual(b.connected.items, [user(b)], 'the new client sees only its own UserConnected');
      assert.deepEqual(a.connected.items, [user(a), user(b)], 'the existing client sees the new one once');

      await b.connection.stop();
      await a.disconnected.waitForItem((u) => u.connectionId === b.id);
      await sleep(QUIET_MS);
      const ids = a.disconnected.items.map((u) => u.connectionId);
      assert.equal(count(ids, b.id), 1, 'UserDisconnected(b) arrives exactly once');
      assert.equal(count(ids, a.id), 0);
      assert.deepEqual(a.disconnected.items, [user(b)]);
      assert.deepEqual(b.disconnected.items, [], 'the leaver gets no UserDisconnected about itself');
    });

    test('groups: join, send to group, leave', T, async () => {
      const group = 'room-1';
      const a = await client();
      const b = await client({ name: 'bob' });
      const c = await client({ name: 'carol' }); // never joins

      assert.equal(await a.connection.invoke('JoinGroup', group), null);
      await a.joined.waitForCount(1);
      assert.deepEqual(a.joined.items, [{ user: user(a), group }], 'the joiner gets its own UserJoined');

      assert.equal(await b.connection.invoke('JoinGroup', group), null);
      await a.joined.waitForCount(2);
      await b.joined.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(a.joined.items, [{ user: user(a), group }, { user: user(b), group }]);
      assert.deepEqual(b.joined.items, [{ user: user(b), group }], 'b joined after a, so it sees only its own join');
      assert.deepEqual(c.joined.items, [], 'a non-member gets no UserJoined');

      // A non-member may send to the group; only members receive it, marked with the group.
      assert.equal(await c.connection.invoke('SendMessageToGroup', group, 'to the room'), null);
      await a.messages.waitForCount(1);
      await b.messages.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(lines(a), [['carol', 'to the room', group]]);
      assert.deepEqual(lines(b), [['carol', 'to the room', group]]);
      assert.deepEqual(c.messages.items, [], 'the non-member must not receive group messages');

      // a leaves: only the remaining member b is told.
      assert.equal(await a.connection.invoke('LeaveGroup', group), null);
      await b.left.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(b.left.items, [{ user: user(a), group }]);
      assert.deepEqual(a.left.items, [], 'the leaver does not get UserLeft');
      assert.deepEqual(c.left.items, []);

      // Later group messages no longer reach a.
      await b.connection.invoke('SendMessageToGroup', group, 'after leave');
      await b.messages.waitForCount(2);
      await sleep(QUIET_MS);
      assert.deepEqual(lines(b), [['carol', 'to the room', group], ['bob', 'after leave', group]]);
      assert.deepEqual(lines(a), [['carol', 'to the room', group]], 'the leaver must not get later group messages');
      assert.deepEqual(c.messages.items, []);
    });

    test('two groups are independent', T, async () => {
      const a = await client({ name: 'alice' });
      const b = await client();
      await a.connection.invoke('JoinGroup', 'red');
      await b.connection.invoke('JoinGroup', 'blue');
      await a.connection.invoke('SendMessageToGroup', 'blue', 'to blue');
      await a.connection.invoke('SendMessageToGroup', 'red', 'to red');
      await a.messages.waitForCount(1);
      await b.messages.waitForCount(1);
      await sleep(QUIET_MS);
      assert.deepEqual(lines(a), [['alice', 'to red', 'red']]);
      assert.deepEqual(lines(b), [['alice', 'to blue', 'blue']]);
    });

    test('hub method names are matched case-insensitively', T, async () => {
      const a = await client({ name: 'u' });
      const b = await client();
      assert.equal(await a.connection.invoke('sendmessage', 'lower'), null);
      assert.equal(await a.connection.invoke('SENDMESSAGE', 'upper'), null);
      assert.equal(await a.connection.invoke('sEnDmEsSaGe', 'mixed'), null);
      await b.messages.waitForCount(3);
      await sleep(QUIET_MS);
      const expected = [['u', 'lower', null], ['u', 'upper', null], ['u', 'mixed', null]];
      assert.deepEqual(lines(b), expected);
      assert.deepEqual(lines(a), expected);
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

      const sender = await client({ quiet: true, name: 'load' });
      for (let i = 0; i < MESSAGES; i++) {
        assert.equal(await sender.connection.invoke('SendMessage', String(i)), null);
      }
      const expected = Array.from({ length: MESSAGES }, (_, i) => ['load', String(i), null]);

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
        .map((r, index) => ({ index, items: lines(r) }))
        .filter(({ items }) => JSON.stringify(items) !== JSON.stringify(expected));
      assert.deepEqual(
        wrong.slice(0, 3),
        [],
        `${wrong.length} of ${everyone.length} connections received something other than "0".."${MESSAGES - 1}" exactly once in order`,
      );
      for (const r of everyone) assert.deepEqual(lines(r), expected);
    });
  });
}

describe('WebSockets only', () => {
  test('skipNegotiation WebSockets connection can invoke and receive', T, async () => {
    const normal = await chatClient({ name: 'normal' });
    const skip = await chatClient({ name: 'skipper', skipNegotiation: true, transport: 'WebSockets' });
    assert.equal(skip.connection.connectionId, null, 'the client learns no connectionId without negotiate');

    // The server still assigns an id and announces it to everyone, with the name.
    await skip.connected.waitForCount(1);
    const { connectionId: skipId, name } = skip.connected.items[0];
    assert.equal(name, 'skipper');
    assert.equal(typeof skipId, 'string');
    assert.ok(skipId.length > 0);
    assert.notEqual(skipId, normal.id);
    await normal.connected.waitForItem((u) => u.connectionId === skipId);

    assert.equal(await skip.connection.invoke('SendMessage', 'from skip'), null);
    assert.equal(await normal.connection.invoke('SendMessage', 'from normal'), null);
    await skip.messages.waitForCount(2);
    await normal.messages.waitForCount(2);
    await sleep(QUIET_MS);
    const expected = [['skipper', 'from skip', null], ['normal', 'from normal', null]];
    assert.deepEqual(lines(skip), expected);
    assert.deepEqual(lines(normal), expected);

    await skip.connection.stop();
    await normal.disconnected.waitForItem((u) => u.connectionId === skipId);
  });
});

describe('names and refusals', () => {
  test('SetName renames: everyone is told, and later messages carry the new name', T, async () => {
    const a = await chatClient({ name: 'ann' });
    const b = await chatClient();
    assert.equal(await a.connection.invoke('SetName', '  annie  '), null);
    for (const x of [a, b]) await x.renamed.waitForCount(1);
    const rename = { user: { connectionId: a.id, name: 'annie' }, previous: 'ann' };
    assert.deepEqual(a.renamed.items, [rename], 'the name is trimmed');
    assert.deepEqual(b.renamed.items, [rename]);
    await a.connection.invoke('JoinGroup', 'g');
    await a.connection.invoke('SendMessage', 'as annie');
    await b.messages.waitForCount(1);
    assert.deepEqual(lines(b), [['annie', 'as annie', null]]);
    assert.deepEqual(a.joined.items, [{ user: { connectionId: a.id, name: 'annie' }, group: 'g' }]);
  });

  test('a connection without a usable name is "anonymous"', T, async () => {
    const none = await chatClient({ name: null });
    const blank = await chatClient({ name: '   ' });
    const long = await chatClient({ name: 'x'.repeat(33) });
    for (const x of [none, blank, long]) {
      await x.connected.waitForItem((u) => u.connectionId === x.id);
      assert.equal(x.connected.items.find((u) => u.connectionId === x.id).name, 'anonymous');
    }
  });

  test('empty or too long names, empty group names and blank messages are refused with a HubError', T, async () => {
    const a = await chatClient({ name: 'ann' });
    const b = await chatClient();
    const refused = [
      [['SetName', ''], refusal('SetName', 'A name must not be empty.')],
      [['SetName', 'n'.repeat(33)], refusal('SetName', 'A name has at most 32 characters.')],
      [['JoinGroup', ''], refusal('JoinGroup', 'A group name must not be empty.')],
      [['JoinGroup', ' \t '], refusal('JoinGroup', 'A group name must not be empty.')],
      [['JoinGroup', 'g'.repeat(33)], refusal('JoinGroup', 'A group name has at most 32 characters.')],
      [['LeaveGroup', ''], refusal('LeaveGroup', 'A group name must not be empty.')],
      [['SendMessageToGroup', '', 'hi'], refusal('SendMessageToGroup', 'A group name must not be empty.')],
      [['SendMessageToGroup', 'g', ' '], refusal('SendMessageToGroup', 'A message must not be empty.')],
      [['SendMessage', ''], refusal('SendMessage', 'A message must not be empty.')],
    ];
    for (const [[method, ...args], message] of refused) {
      await assert.rejects(a.connection.invoke(method, ...args), { message }, `${method}(${JSON.stringify(args)})`);
    }
    // Nothing reached anyone, and the name is unchanged.
    await a.connection.invoke('SendMessage', 'still ann');
    await b.messages.waitForCount(1);
    await sleep(QUIET_MS);
    assert.deepEqual(lines(b), [['ann', 'still ann', null]]);
    for (const x of [a, b]) {
      assert.deepEqual([x.renamed.items, x.joined.items, x.left.items], [[], [], []]);
    }
  });
});

test('the chat example serves the hub metrics for Prometheus at /metrics', async () => {
  const connection = await connect(`${server.url}/hubs/chat`, {
    setup(conn) {
      conn.on('UserConnected', () => {});
      conn.on('ReceiveMessage', () => {});
    },
  });
  await connection.invoke('SendMessage', 'hello');
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  assert.match(text, /^signalr_server_active_connections\{signalr_transport="web_sockets"\} [1-9]/m);
  assert.match(text, /^signalr_server_messages_received [1-9]/m);
  assert.match(text, /^signalr_server_messages_sent [1-9]/m);
});
