// The official @microsoft/signalr client against the `interop` example's TestHub,
// over every transport × hub protocol combination (WebSockets, Server-Sent Events
// and Long Polling; JSON and MessagePack): results, error texts on the
// default and the detailed-errors path, request data, client targeting, groups
// and sends from outside the hub (REST).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, COMBINATIONS, connect, QUIET_MS, sleep, usedTransport, useServer } from '../lib/server.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

const server = useServer('interop');
const hub = (path = '/hubs/test') => `${server.url}${path}`;

/** Connects with a collector for the hub's only client method, `Received`. */
async function connectClient(path = '/hubs/test', opts = {}) {
  let received;
  const connection = await connect(hub(path), {
    ...opts,
    setup(conn) {
      received = collect(conn, 'Received');
    },
  });
  return { connection, id: connection.connectionId, received };
}

async function assertStillWorks(connection, text = 'still alive') {
  assert.equal(await connection.invoke('Echo', text), text, 'the connection keeps working after the error');
}

async function assertInvokeError(connection, args, expectedMessage) {
  await assert.rejects(connection.invoke(...args), (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`);
    assert.equal(err.message, expectedMessage);
    return true;
  });
  await assertStillWorks(connection);
}

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`over ${name}`, () => {
    const client = (path = '/hubs/test', opts = {}) => connectClient(path, { transport, protocol, ...opts });

    describe('results', () => {
      test(`the client really speaks ${protocol} over ${transport}`, T, async () => {
        const { connection } = await client();
        // Internal fields of the official client, read only to prove the parametrisation took effect.
        assert.equal(connection._protocol.name, protocol);
        assert.equal(usedTransport(connection), transport);
        assert.equal(await connection.invoke('Echo', 'hi'), 'hi');
      });

      test('Echo round-trips strings exactly', T, async () => {
        const { connection } = await client();
        for (const s of ['hello', '', 'héllo wörld ✓ 🌍', 'quotes " and \\ backslash', 'control \u0000\u001e\n\t chars', 'x'.repeat(5000)]) {
          assert.equal(await connection.invoke('Echo', s), s);
        }
      });

      test('Add adds two integers', T, async () => {
        const { connection } = await client();
        assert.equal(await connection.invoke('Add', 2, 3), 5);
        assert.equal(await connection.invoke('Add', -7, 3), -4);
        assert.equal(await connection.invoke('Add', 0, 0), 0);
        assert.equal(await connection.invoke('Add', 1_000_000, 2_000_000), 3_000_000);
      });

      test('EchoObject returns the same object', T, async () => {
        const { connection } = await client();
        const obj = { name: 'widget', count: 42, tags: ['a', 'b', 'ünï'] };
        assert.deepEqual(await connection.invoke('EchoObject', obj), obj);
        const empty = { name: '', count: 0, tags: [] };
        assert.deepEqual(await connection.invoke('EchoObject', empty), empty);
      });

      test('EchoOrder returns the same nested object', T, async () => {
        const { connection } = await client();
        const order = {
          id: 7,
          customer: { name: 'Zoë 🌍', vip: true },
          lines: [
            { sku: 'A-1', quantity: 2, price: 9.99 },
            { sku: 'B-2', quantity: 1, price: 0.5 },
          ],
          note: null,
        };
        assert.deepEqual(await connection.invoke('EchoOrder', order), order);
        const noted = { ...order, lines: [], note: 'leave at the door' };
        assert.deepEqual(await connection.invoke('EchoOrder', noted), noted);
      });

      if (protocol === 'json') {
        test('dates travel as ISO-8601 strings', T, async () => {
          const { connection } = await client();
          const iso = '2023-11-14T22:13:20.123Z';
          assert.equal(await connection.invoke('EchoDate', iso), iso);
          assert.equal(await connection.invoke('DateToMillis', iso), 1700000000123);
          // A Date argument is serialised by JSON.stringify, i.e. as the same ISO string.
          assert.equal(await connection.invoke('EchoDate', new Date(1700000000123)), iso);
          assert.equal(await connection.invoke('MillisToDate', 1700000000123), iso);
        });
      }

      test('Void resolves to null', T, async () => {
        const { connection } = await client();
        assert.equal(await connection.invoke('Void'), null);
      });

      test('Delay returns its argument after sleeping', T, async () => {
        const { connection } = await client();
        const started = Date.now();
        assert.equal(await connection.invoke('Delay', 200), 200);
        assert.ok(Date.now() - started >= 190, `Delay(200) returned after ${Date.now() - started} ms`);
      });

      test('GetConnectionId equals connection.connectionId', T, async () => {
        const a = await client();
        const b = await client();
        assert.equal(await a.connection.invoke('GetConnectionId'), a.id);
        assert.equal(await b.connection.invoke('GetConnectionId'), b.id);
        assert.notEqual(a.id, b.id);
      });

      test('request headers and query parameters are visible to the hub', T, async () => {
        const { connection } = await client('/hubs/test?team=blue', { headers: { 'X-Test': 'abc' } });
        assert.equal(await connection.invoke('GetHeader', 'X-Test'), 'abc');
        assert.equal(await connection.invoke('GetHeader', 'x-test'), 'abc', 'header names are case-insensitive');
        assert.equal(await connection.invoke('GetHeader', 'X-Not-Sent'), null);
        assert.ok(await connection.invoke('GetHeader', 'Host'), 'ordinary request headers are kept');
        // Headers that only served the WebSocket handshake are not kept for the connection's life.
        for (const name of ['Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Upgrade', 'Connection']) {
          assert.equal(await connection.invoke('GetHeader', name), null, name);
        }
        assert.equal(await connection.invoke('GetQuery', 'team'), 'blue');
        assert.equal(await connection.invoke('GetQuery', 'colour'), null);
      });
    });

    for (const [path, detailed] of [
      ['/hubs/test', false],
      ['/hubs/test-detailed', true],
    ]) {
      describe(`errors on ${path}`, () => {
        const detail = (text) => (detailed ? ` ${text}` : '');

        test('HubFailure (HubException) always includes the message', T, async () => {
          const { connection } = await client(path);
          await assertInvokeError(
            connection,
            ['HubFailure', 'boom'],
            "An unexpected error occurred invoking 'HubFailure' on the server. HubException: boom",
          );
        });

        test('InternalFailure', T, async () => {
          const { connection } = await client(path);
          await assertInvokeError(
            connection,
            ['InternalFailure', 'db down'],
            `An unexpected error occurred invoking 'InternalFailure' on the server.${detail('InternalError: db down')}`,
          );
        });

        test('Panic', T, async () => {
          const { connection } = await client(path);
          await assertInvokeError(
            connection,
            ['Panic', 'oh no'],
            `An unexpected error occurred invoking 'Panic' on the server.${detail('Panic: oh no')}`,
          );
          // A panic must not take down other connections either.
          const other = await client(path);
          await assertStillWorks(other.connection);
        });

        test('unknown method', T, async () => {
          const { connection } = await client(path);
          await assertInvokeError(
            connection,
            ['Nope'],
            "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.",
          );
        });

        test('wrong argument count', T, async () => {
          const { connection } = await client(path);
          await assertInvokeError(
            connection,
            ['Add', 1],
            `Failed to invoke 'Add' due to an error on the server.${detail(
              'InvalidDataException: Invocation provides 1 argument(s) but target expects 2.',
            )}`,
          );
          await assertInvokeError(
            connection,
            ['Add', 1, 2, 3],
            `Failed to invoke 'Add' due to an error on the server.${detail(
              'InvalidDataException: Invocation provides 3 argument(s) but target expects 2.',
            )}`,
          );
        });

        test('wrong argument type', T, async () => {
          const { connection } = await client(path);
          await assertInvokeError(
            connection,
            ['Add', 'x', 2],
            `Failed to invoke 'Add' due to an error on the server.${detail(
              'InvalidDataException: Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked.',
            )}`,
          );
        });

        test('error texts use the target name as the client sent it', T, async () => {
          const { connection } = await client(path);
          await assertInvokeError(
            connection,
            ['add', 1],
            `Failed to invoke 'add' due to an error on the server.${detail(
              'InvalidDataException: Invocation provides 1 argument(s) but target expects 2.',
            )}`,
          );
          await assertInvokeError(
            connection,
            ['NOPE'],
            "Failed to invoke 'NOPE' due to an error on the server. HubException: Method does not exist.",
          );
        });

        test('many errors in a row leave the connection usable', T, async () => {
          const { connection } = await client(path);
          for (let i = 0; i < 5; i++) {
            await assertInvokeError(
              connection,
              ['HubFailure', `n${i}`],
              `An unexpected error occurred invoking 'HubFailure' on the server. HubException: n${i}`,
            );
          }
          assert.equal(await connection.invoke('Add', 20, 22), 42);
        });
      });
    }

    describe('targeting clients', () => {
      test('SendToCaller, SendToOthers, SendToConnection and SendToAll reach exactly the right connections', T, async () => {
        const a = await client();
        const b = await client();
        const c = await client();

        assert.equal(await a.connection.invoke('SendToCaller', 'to-caller'), null);
        assert.equal(await a.connection.invoke('SendToOthers', 'to-others'), null);
        assert.equal(await a.connection.invoke('SendToConnection', c.id, 'to-c'), null);
        assert.equal(await a.connection.invoke('SendToAll', 'to-all'), null);

        await a.received.waitForCount(2);
        await b.received.waitForCount(2);
        await c.received.waitForCount(3);
        await sleep(QUIET_MS);
        assert.deepEqual(a.received.items, ['to-caller', 'to-all'], 'a must not get to-others / to-c');
        assert.deepEqual(b.received.items, ['to-others', 'to-all'], 'b must not get to-caller / to-c');
        assert.deepEqual(c.received.items, ['to-others', 'to-c', 'to-all'], 'c must not get to-caller');
      });

      test('SendToAll and REST broadcast stay within the /hubs/test path', T, async () => {
        const a = await client('/hubs/test');
        const d = await client('/hubs/test-detailed');
        await a.connection.invoke('SendToAll', 'hub-all');
        const res = await fetch(`${server.url}/api/broadcast`, { method: 'POST', body: 'rest-all' });
        assert.equal(res.status, 200);
        await a.received.waitForCount(2);
        await sleep(QUIET_MS);
        assert.deepEqual(a.received.items, ['hub-all', 'rest-all']);
        assert.deepEqual(d.received.items, [], 'connections on /hubs/test-detailed are a different hub path');
      });

      test('groups: JoinGroup, SendToGroup, LeaveGroup', T, async () => {
        const a = await client();
        const b = await client();
        const c = await client();
        assert.equal(await a.connection.invoke('JoinGroup', 'g'), null);
        assert.equal(await b.connection.invoke('JoinGroup', 'g'), null);
        assert.equal(await c.connection.invoke('SendToGroup', 'g', 'm1'), null);
        await a.received.waitForCount(1);
        await b.received.waitForCount(1);
        await sleep(QUIET_MS);
        assert.deepEqual(a.received.items, ['m1']);
        assert.deepEqual(b.received.items, ['m1']);
        assert.deepEqual(c.received.items, [], 'the non-member must not receive');

        assert.equal(await a.connection.invoke('LeaveGroup', 'g'), null);
        await c.connection.invoke('SendToGroup', 'g', 'm2');
        await b.received.waitForCount(2);
        await sleep(QUIET_MS);
        assert.deepEqual(a.received.items, ['m1'], 'the leaver must not receive later group messages');
        assert.deepEqual(b.received.items, ['m1', 'm2']);
        assert.deepEqual(c.received.items, []);
      });
    });

    describe('REST (hub context used from outside the hub)', () => {
      test('POST /api/broadcast reaches all connected clients', T, async () => {
        const a = await client();
        const b = await client();
        const res = await fetch(`${server.url}/api/broadcast`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain' },
          body: 'hello from REST',
        });
        assert.equal(res.status, 200);
        await a.received.waitForCount(1);
        await b.received.waitForCount(1);
        await sleep(QUIET_MS);
        assert.deepEqual(a.received.items, ['hello from REST']);
        assert.deepEqual(b.received.items, ['hello from REST']);
      });

      test('POST /api/groups/{group}/{connectionId} adds that connection to the group', T, async () => {
        const a = await client();
        const b = await client();
        const c = await client();
        const res = await fetch(`${server.url}/api/groups/rest-group/${encodeURIComponent(a.id)}`, { method: 'POST' });
        assert.equal(res.status, 200);
        assert.equal(await b.connection.invoke('SendToGroup', 'rest-group', 'via rest group'), null);
        await a.received.waitForCount(1);
        await sleep(QUIET_MS);
        assert.deepEqual(a.received.items, ['via rest group']);
        assert.deepEqual(b.received.items, []);
        assert.deepEqual(c.received.items, []);
      });
    });
  });
}
