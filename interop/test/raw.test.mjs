// The connection layer and bad input, without the official client: `fetch` for
// negotiate and `ws` for hand-written frames, against the `interop` example.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, QUIET_MS, sleep, useServer, waitFor } from '../lib/server.mjs';
import { expectUpgradeRejected, frame, JSON_HANDSHAKE, RawHub, RS, terminateAllRaw } from '../lib/raw.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

/** What /hubs/test offers (the other endpoints: test/transports.test.mjs). */
const EXPECTED_TRANSPORTS = [
  { transport: 'WebSockets', transferFormats: ['Text', 'Binary'] },
  { transport: 'ServerSentEvents', transferFormats: ['Text'] },
  { transport: 'LongPolling', transferFormats: ['Text', 'Binary'] },
];
const URL_SAFE = /^[A-Za-z0-9_-]+$/;
const CLOSE_WITH_ERROR = { type: 7, error: 'Connection closed with an error.', allowReconnect: true };

afterEach(() => {
  terminateAllRaw();
});
const server = useServer('interop');

const negotiate = (query = '', init = { method: 'POST' }) => fetch(`${server.url}/hubs/test/negotiate${query}`, init);
const wsUrl = (query) => `${server.wsUrl}/hubs/test${query}`;

/** Negotiates (v1), opens the socket and completes the JSON handshake. */
async function openRaw() {
  const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
  await hub.handshake();
  return hub;
}

const invocation = (invocationId, target, ...args) => ({ type: 1, invocationId, target, arguments: args });
const completion = (invocationId, result) => ({ type: 3, invocationId, result });

describe('negotiate', () => {
  test('negotiateVersion=1 returns id, separate token and the transports', T, async () => {
    const res = await negotiate('?negotiateVersion=1');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = await res.json();
    assert.equal(body.negotiateVersion, 1);
    assert.equal(typeof body.connectionId, 'string');
    assert.equal(typeof body.connectionToken, 'string');
    assert.match(body.connectionId, URL_SAFE);
    assert.match(body.connectionToken, URL_SAFE);
    assert.notEqual(body.connectionToken, body.connectionId);
    assert.deepEqual(body.availableTransports, EXPECTED_TRANSPORTS);
    assert.equal('useStatefulReconnect' in body, false, 'not requested, so must not be offered');
    assert.equal('error' in body, false);

    const second = await (await negotiate('?negotiateVersion=1')).json();
    assert.notEqual(second.connectionId, body.connectionId, 'every negotiate creates a new connection');
    assert.notEqual(second.connectionToken, body.connectionToken);
  });

  test('the v1 token works as id= and the connection invokes', T, async () => {
    const hub = await openRaw();
    hub.sendMessage(invocation('1', 'Echo', 'hi'));
    assert.deepEqual(await hub.nextMessage(), completion('1', 'hi'));
    hub.sendMessage(invocation('2', 'GetConnectionId'));
    assert.deepEqual(await hub.nextMessage(), completion('2', hub.negotiation.connectionId));
  });

  test('negotiateVersion above 1 is clamped to 1', T, async () => {
    const body = await (await negotiate('?negotiateVersion=2')).json();
    assert.equal(body.negotiateVersion, 1);
    assert.match(body.connectionToken, URL_SAFE);
  });

  test('without negotiateVersion: version 0, no token, connectionId is the id=', T, async () => {
    const res = await negotiate();
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.negotiateVersion, 0);
    assert.equal('connectionToken' in body, false);
    assert.match(body.connectionId, URL_SAFE);
    assert.deepEqual(body.availableTransports, EXPECTED_TRANSPORTS);

    const hub = await RawHub.open(wsUrl(`?id=${body.connectionId}`));
    await hub.handshake();
    hub.sendMessage(invocation('1', 'Echo', 'v0'));
    assert.deepEqual(await hub.nextMessage(), completion('1', 'v0'));
    hub.sendMessage(invocation('2', 'GetConnectionId'));
    assert.deepEqual(await hub.nextMessage(), completion('2', body.connectionId));
  });

  test('negotiateVersion=abc is a 200 with an error body', T, async () => {
    const res = await negotiate('?negotiateVersion=abc');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { error: 'The client requested a non-integer protocol version.' });
  });

  test('negotiateVersion=-1 is below the minimum', T, async () => {
    const res = await negotiate('?negotiateVersion=-1');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      error: "The client requested version '-1', but the server does not support this version.",
    });
  });

  test('GET on negotiate is 405', T, async () => {
    const res = await negotiate('?negotiateVersion=1', { method: 'GET' });
    assert.equal(res.status, 405);
  });
});

describe('WebSocket connect', () => {
  test('unknown id is rejected with 404', T, async () => {
    const { status, body } = await expectUpgradeRejected(wsUrl('?id=unknown'));
    assert.equal(status, 404);
    assert.equal(body, 'No Connection with that ID');
    const plain = await fetch(`${server.url}/hubs/test?id=unknown`);
    assert.equal(plain.status, 404);
  });

  test('v1: the public connectionId is not accepted as id=', T, async () => {
    const body = await (await negotiate('?negotiateVersion=1')).json();
    const { status } = await expectUpgradeRejected(wsUrl(`?id=${body.connectionId}`));
    assert.equal(status, 404);
    // The token itself still works afterwards.
    const hub = await RawHub.open(wsUrl(`?id=${body.connectionToken}`));
    await hub.handshake();
  });

  test('a second socket while the first is active is rejected with 409', T, async () => {
    const body = await (await negotiate('?negotiateVersion=1')).json();
    const first = await RawHub.open(wsUrl(`?id=${body.connectionToken}`));
    await first.handshake();
    const { status } = await expectUpgradeRejected(wsUrl(`?id=${body.connectionToken}`));
    assert.equal(status, 409);
    first.sendMessage(invocation('1', 'Echo', 'first still works'));
    assert.deepEqual(await first.nextMessage(), completion('1', 'first still works'));
  });

  test('a token works once: after the socket closed it is 404', T, async () => {
    const body = await (await negotiate('?negotiateVersion=1')).json();
    const first = await RawHub.open(wsUrl(`?id=${body.connectionToken}`));
    await first.handshake();
    first.sendMessage({ type: 7 });
    await first.close();
    // The server removes the connection asynchronously; give it a moment, but
    // in the end the token must be unknown.
    let status;
    await waitFor(
      async () => {
        ({ status } = await expectUpgradeRejected(wsUrl(`?id=${body.connectionToken}`)));
        return status === 404;
      },
      5_000,
      () => `404 for a used token, last status ${status}`,
    );
    assert.equal(status, 404);
  });

  test('without id= (skipNegotiation) the upgrade creates a fresh connection', T, async () => {
    const hub = await RawHub.open(wsUrl(''));
    await hub.handshake();
    hub.sendMessage(invocation('1', 'GetConnectionId'));
    const reply = await hub.nextMessage();
    assert.equal(reply.type, 3);
    assert.equal(reply.invocationId, '1');
    assert.match(reply.result, URL_SAFE);
  });
});

describe('handshake', () => {
  test('json version 1 is answered with {}', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    hub.send(JSON_HANDSHAKE);
    assert.equal(await hub.nextRecord(), '{}');
    assert.ok(hub.frames[0].text.startsWith(`{}${RS}`), 'the reply is the first thing on the socket');
    assert.equal(hub.frames[0].isBinary, false, 'JSON goes out in Text frames');
  });

  test('protocol names are matched case-insensitively', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    hub.send(frame({ protocol: 'JSON', version: 1 }));
    assert.equal(await hub.nextRecord(), '{}');
  });

  test('unknown protocol gets an error and the socket closes', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    hub.send(frame({ protocol: 'foo', version: 1 }));
    assert.deepEqual(JSON.parse(await hub.nextRecord()), { error: "The protocol 'foo' is not supported." });
    await hub.waitClosed(10_000);
  });

  test('unsupported version gets an error and the socket closes', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    hub.send(frame({ protocol: 'json', version: 99 }));
    assert.deepEqual(JSON.parse(await hub.nextRecord()), {
      error: "The server does not support version 99 of the 'json' protocol.",
    });
    await hub.waitClosed(10_000);
  });
});

describe('byte stream', () => {
  test('handshake and an invocation in one frame', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    hub.send(JSON_HANDSHAKE + frame(invocation('1', 'Echo', 'hi')));
    assert.equal(await hub.nextRecord(), '{}');
    assert.deepEqual(await hub.nextMessage(), completion('1', 'hi'));
  });

  test('one invocation split across three frames', T, async () => {
    const hub = await openRaw();
    const text = frame(invocation('1', 'Echo', 'split message'));
    const cut1 = 10;
    const cut2 = Math.floor(text.length / 2) + 3;
    hub.send(text.slice(0, cut1));
    await sleep(50);
    hub.send(text.slice(cut1, cut2));
    await sleep(50);
    hub.send(text.slice(cut2));
    assert.deepEqual(await hub.nextMessage(), completion('1', 'split message'));
  });

  test('two invocations in one frame', T, async () => {
    const hub = await openRaw();
    hub.send(frame(invocation('1', 'Echo', 'a')) + frame(invocation('2', 'Add', 40, 2)));
    const replies = [await hub.nextMessage(), await hub.nextMessage()];
    replies.sort((x, y) => x.invocationId.localeCompare(y.invocationId));
    assert.deepEqual(replies, [completion('1', 'a'), completion('2', 42)]);
  });

  test('the second half of one message and a whole next message in one frame', T, async () => {
    const hub = await openRaw();
    const first = frame(invocation('1', 'Echo', 'x'));
    hub.send(first.slice(0, 7));
    await sleep(50);
    hub.send(first.slice(7) + frame(invocation('2', 'Echo', 'y')));
    const replies = [await hub.nextMessage(), await hub.nextMessage()];
    replies.sort((x, y) => x.invocationId.localeCompare(y.invocationId));
    assert.deepEqual(replies, [completion('1', 'x'), completion('2', 'y')]);
  });
});

describe('message parsing', () => {
  test('keys in any order, unknown keys ignored, headers accepted', T, async () => {
    const hub = await openRaw();
    hub.send(`{"arguments":["ordered"],"invocationId":"1","type":1,"target":"Echo"}${RS}`);
    assert.deepEqual(await hub.nextMessage(), completion('1', 'ordered'));
    hub.send(`{"type":1,"unknownKey":{"nested":[1,{"a":null}]},"invocationId":"2","target":"Echo","arguments":["unknown"],"another":true}${RS}`);
    assert.deepEqual(await hub.nextMessage(), completion('2', 'unknown'));
    hub.send(`{"type":1,"headers":{},"invocationId":"3","target":"Echo","arguments":["empty headers"]}${RS}`);
    assert.deepEqual(await hub.nextMessage(), completion('3', 'empty headers'));
    hub.send(`{"type":1,"headers":{"k":"v","x-trace":"1"},"invocationId":"4","target":"Echo","arguments":["headers"]}${RS}`);
    assert.deepEqual(await hub.nextMessage(), completion('4', 'headers'));
  });

  test('invocations without an invocationId get no completion', T, async () => {
    const hub = await openRaw();
    // Fire-and-forget SendToCaller: the side effect proves it ran.
    hub.sendMessage({ type: 1, target: 'SendToCaller', arguments: ['ff'] });
    hub.sendMessage({ type: 1, invocationId: '', target: 'SendToCaller', arguments: ['ff-empty-id'] });
    hub.sendMessage(invocation('9', 'Echo', 'blocking'));
    const seen = await hub.readUntil((m) => m.type === 3 && m.invocationId === '9');
    await sleep(QUIET_MS);
    const all = hub.allMessages().slice(1); // drop the handshake reply
    assert.deepEqual(
      all.filter((m) => m.type === 3),
      [completion('9', 'blocking')],
      'the only Completion is the one for the blocking Echo',
    );
    assert.deepEqual(
      all.filter((m) => m.type === 1),
      [
        { type: 1, target: 'Received', arguments: ['ff'] },
        { type: 1, target: 'Received', arguments: ['ff-empty-id'] },
      ],
      'both fire-and-forget invocations ran (server Invocations carry no invocationId)',
    );
    assert.ok(seen.length >= 1);
  });

  test('a malformed message closes only that connection, with an error Close', T, async () => {
    const other = await connect(`${server.url}/hubs/test`, { quiet: true });
    const hub = await openRaw();
    hub.send(`{not json}${RS}`);
    assert.deepEqual(await hub.nextMessage(), CLOSE_WITH_ERROR);
    await hub.waitClosed(10_000);
    assert.equal(await other.invoke('Echo', 'unaffected'), 'unaffected');
  });

  test('a message over 32 KiB closes that connection; one under the limit works', T, async () => {
    const other = await connect(`${server.url}/hubs/test`, { quiet: true });

    const fits = await openRaw();
    const small = sized(30_000, '1');
    fits.send(small.text + RS);
    assert.deepEqual(await fits.nextMessage(), completion('1', small.payload));

    const tooBig = await openRaw();
    const big = sized(40_000, '1');
    tooBig.send(big.text + RS);
    assert.deepEqual(await tooBig.nextMessage(), CLOSE_WITH_ERROR);
    await tooBig.waitClosed(10_000);

    assert.equal(await other.invoke('Echo', 'unaffected'), 'unaffected');
    fits.sendMessage(invocation('2', 'Echo', 'still open'));
    assert.deepEqual(await fits.nextMessage(), completion('2', 'still open'));
  });
});

/** An Echo invocation whose JSON text is exactly `bytes` bytes long (ASCII). */
function sized(bytes, invocationId) {
  const empty = JSON.stringify(invocation(invocationId, 'Echo', ''));
  const payload = 'x'.repeat(bytes - empty.length);
  const text = JSON.stringify(invocation(invocationId, 'Echo', payload));
  assert.equal(Buffer.byteLength(text), bytes);
  return { text, payload };
}
