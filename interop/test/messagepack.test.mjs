// The MessagePack hub protocol against the `interop` example's TestHub: payload
// conventions through the official client (binary as msgpack bin, dates as the
// timestamp extension, nested maps, big integers, floats, string and bin size
// classes), then the wire itself with `ws`: which frames are binary, framing,
// and what a malformed or oversized message does.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import { connect, sleep, useServer, waitFor } from '../lib/server.mjs';
import { binaryFrame, RawBinaryHub, RawHub, terminateAllRaw } from '../lib/raw.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

const CLOSE_WITH_ERROR = [7, 'Connection closed with an error.', true];

afterEach(() => {
  terminateAllRaw();
});
const server = useServer('interop');

const msgpackClient = () => connect(`${server.url}/hubs/test`, { protocol: 'messagepack' });

/** Negotiates, opens the socket and completes the messagepack handshake. */
async function openRawMsgpack() {
  const hub = await RawBinaryHub.negotiateAndOpen(server.url, '/hubs/test');
  await hub.handshake('messagepack', 1);
  return hub;
}

/** A framed client Invocation, 5-element form (no streamIds), as the JS client sends it. */
const invocation = (id, target, ...args) => binaryFrame(encode([1, {}, id, target, args]));

const sum = (bytes) => bytes.reduce((acc, b) => acc + b, 0);

describe('payloads through the official client', () => {
  test('binary payloads round-trip byte-exact as msgpack bin; ByteSum agrees', T, async () => {
    const connection = await msgpackClient();
    const allValues = Uint8Array.from({ length: 256 }, (_, i) => i);
    const cases = {
      'all 256 byte values': allValues,
      'all 256 byte values, reversed': allValues.slice().reverse(),
      empty: new Uint8Array(0),
      'one zero byte': new Uint8Array(1),
      // bin8 holds up to 255 bytes, bin16 from 256 on.
      '255 bytes': new Uint8Array(randomBytes(255)),
      '256 bytes': new Uint8Array(randomBytes(256)),
      '20 000 random bytes': new Uint8Array(randomBytes(20_000)),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const echoed = await connection.invoke('EchoBytes', bytes);
      assert.ok(echoed instanceof Uint8Array, `${name}: EchoBytes returns a Uint8Array, got ${Object.prototype.toString.call(echoed)}`);
      assert.equal(echoed.length, bytes.length, `${name}: length`);
      assert.ok(Buffer.from(echoed).equals(Buffer.from(bytes)), `${name}: the bytes differ`);
      assert.equal(await connection.invoke('ByteSum', bytes), sum(bytes), `${name}: ByteSum`);
    }
    assert.equal(await connection.invoke('ByteSum', allValues), 32_640);
  });

  test('nested objects round-trip exactly, with null and unicode', T, async () => {
    const connection = await msgpackClient();
    const order = {
      id: 42,
      customer: { name: 'Zoë Ünïcødé 名前 🌍👍🏽 e\u0301', vip: false },
      lines: [
        { sku: 'ÄÖÜ-ß', quantity: 3, price: 19.99 },
        { sku: '', quantity: 0, price: 0.1 },
        { sku: 'x'.repeat(300), quantity: 1, price: -2.5 },
      ],
      note: null,
    };
    assert.deepEqual(await connection.invoke('EchoOrder', order), order);
    const noted = { ...order, customer: { name: '', vip: true }, note: 'ok ✓ \u0000 end' };
    assert.deepEqual(await connection.invoke('EchoOrder', noted), noted);
    // Array size classes: fixarray holds up to 15 elements, array16 from 16 on.
    for (const n of [0, 15, 16, 17]) {
      const many = {
        ...order,
        lines: Array.from({ length: n }, (_, i) => ({ sku: `sku-${i}`, quantity: i, price: i + 0.25 })),
      };
      assert.deepEqual(await connection.invoke('EchoOrder', many), many, `${n} lines`);
    }
    // String size classes: fixstr up to 31 bytes, str8 up to 255, str16 up to 65535.
    for (const n of [31, 32, 255, 256, 30_000]) {
      const s = 'é'.repeat(Math.floor(n / 2)) + 'a'.repeat(n % 2);
      assert.equal(Buffer.byteLength(s), n);
      assert.equal(await connection.invoke('Echo', s), s, `a ${n}-byte string`);
    }
  });

  test('dates round-trip as the timestamp extension', T, async () => {
    const connection = await msgpackClient();
    const at = new Date(1700000000123);
    const echoed = await connection.invoke('EchoDate', at);
    assert.ok(echoed instanceof Date, `EchoDate returns a Date, got ${Object.prototype.toString.call(echoed)}`);
    assert.equal(echoed.getTime(), at.getTime());
    assert.equal(await connection.invoke('DateToMillis', at), 1700000000123);

    const epoch = await connection.invoke('MillisToDate', 0);
    assert.ok(epoch instanceof Date);
    assert.equal(epoch.getTime(), 0);

    // The JS encoder picks timestamp32 (whole seconds below 2^32), timestamp64
    // (seconds below 2^34 with a fraction) or timestamp96 (anything else,
    // including every instant before 1970).
    const instants = {
      'whole seconds (timestamp32)': 1700000000000,
      'with milliseconds (timestamp64)': 1700000000123,
      'after 2106 (timestamp64)': 5_000_000_000_123,
      '9999-12-31T23:59:59.999Z': 253402300799999,
      'one millisecond before 1970': -1,
      '1930-11-18': -1234567890123,
      '0001-01-01': -62135596800000,
      'the latest Date (timestamp96)': 8.64e15,
      'the earliest Date (timestamp96)': -8.64e15,
    };
    for (const [name, millis] of Object.entries(instants)) {
      const date = new Date(millis);
      const back = await connection.invoke('EchoDate', date);
      assert.ok(back instanceof Date, `${name}: EchoDate returns a Date`);
      assert.equal(back.getTime(), millis, `${name}: EchoDate`);
      assert.equal(await connection.invoke('DateToMillis', date), date.getTime(), `${name}: DateToMillis`);
      const made = await connection.invoke('MillisToDate', millis);
      assert.ok(made instanceof Date, `${name}: MillisToDate returns a Date`);
      assert.equal(made.getTime(), millis, `${name}: MillisToDate`);
    }
  });

  test('large integers near 2^53 and integer size classes', T, async () => {
    const connection = await msgpackClient();
    const order = (id, quantity = 1) => ({
      id,
      customer: { name: 'n', vip: false },
      lines: [{ sku: 's', quantity, price: 1.5 }],
      note: null,
    });
    // Every msgpack integer width: positive fixint, uint8, uint16, uint32, uint64.
    for (const id of [0, 127, 128, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      assert.deepEqual(await connection.invoke('EchoOrder', order(id)), order(id), `id ${id}`);
    }
    // 2^53 is not a safe integer, so the JS encoder sends it as float64. Like
    // .NET (MessagePack-CSharp reads integers from integer codes only), the
    // server refuses to bind a float to an integer parameter.
    await assert.rejects(connection.invoke('EchoOrder', order(2 ** 53)), {
      message: "Failed to invoke 'EchoOrder' due to an error on the server.",
    });
    assert.deepEqual(await connection.invoke('EchoOrder', order(1, 2 ** 32 - 1)), order(1, 2 ** 32 - 1), 'u32 max');
    // i64 through millis: DateToMillis returns an int64, MillisToDate takes one.
    assert.equal(await connection.invoke('DateToMillis', new Date(8.64e15)), 8.64e15);
    assert.equal(await connection.invoke('DateToMillis', new Date(-8.64e15)), -8.64e15);
    // i32 bounds through Add.
    assert.equal(await connection.invoke('Add', 2 ** 31 - 1, -(2 ** 31)), -1);
    assert.equal(await connection.invoke('Add', 2 ** 31 - 2, 1), 2 ** 31 - 1);
    assert.equal(await connection.invoke('Add', -(2 ** 31) + 1, -1), -(2 ** 31));
  });

  test('floats round-trip exactly', T, async () => {
    const connection = await msgpackClient();
    const floats = [
      0.1, -2.5, 1 / 3, Math.PI, 1e-300, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 60, 1e20,
      Number.EPSILON, -123456.789, NaN, Infinity, -Infinity,
      // Integral values: the JS encoder sends these as msgpack integers.
      0, 42, -7, 2 ** 53,
    ];
    for (const count of floats) {
      const item = { name: 'f', count, tags: [] };
      assert.deepEqual(await connection.invoke('EchoObject', item), item, `count ${count}`);
    }
    const order = {
      id: 1,
      customer: { name: 'n', vip: true },
      lines: floats.map((price, i) => ({ sku: `p${i}`, quantity: i, price })),
      note: null,
    };
    assert.deepEqual(await connection.invoke('EchoOrder', order), order);
  });
});

describe('the wire, through raw WebSockets', () => {
  test('messagepack: handshake reply and messages arrive as binary frames', T, async () => {
    const hub = await RawBinaryHub.negotiateAndOpen(server.url, '/hubs/test');
    hub.send(`{"protocol":"messagepack","version":1}\x1e`);
    await waitFor(() => hub.handshakeReply !== null || hub.closeInfo !== null, 10_000, 'the handshake reply');
    assert.equal(hub.handshakeReply, '{}');
    assert.equal(hub.frames.length >= 1, true);
    assert.equal(hub.frames[0].isBinary, true, 'the handshake reply must come in a binary frame');
    assert.ok(hub.frames[0].data.subarray(0, 3).equals(Buffer.from('{}\x1e')), 'the reply is {} RS');

    // A framed Ping, then Add(2, 3) encoded by hand in the 5-element form:
    // [1, {}, "1", "Add", [2, 3]].
    hub.send(Buffer.from([0x02, 0x91, 0x06]));
    const add = [0x95, 0x01, 0x80, 0xa1, 0x31, 0xa3, 0x41, 0x64, 0x64, 0x92, 0x02, 0x03];
    hub.send(Buffer.from([add.length, ...add]));
    assert.deepEqual(await hub.nextMessage(), [3, {}, '1', 3, 5]);

    // The 6-element form with empty streamIds, a void method, an error, and a
    // fire-and-forget call (nil id) whose side effect shows it ran.
    hub.send(binaryFrame(encode([1, {}, '2', 'Echo', ['six'], []])));
    assert.deepEqual(await hub.nextMessage(), [3, {}, '2', 3, 'six']);
    hub.send(invocation('3', 'Void'));
    assert.deepEqual(await hub.nextMessage(), [3, {}, '3', 3, null], 'void: kind 3 with nil, as .NET sends');
    hub.send(invocation('4', 'HubFailure', 'bad'));
    assert.deepEqual(await hub.nextMessage(), [
      3, {}, '4', 1, "An unexpected error occurred invoking 'HubFailure' on the server. HubException: bad",
    ]);
    hub.send(invocation(null, 'SendToCaller', 'ff'));
    assert.deepEqual(await hub.nextMessage(), [1, {}, null, 'Received', ['ff'], []], 'server Invocations have 6 elements');

    assert.ok(hub.frames.every((f) => f.isBinary), 'every frame from the server is binary');
  });

  test('json: handshake reply and messages arrive as text frames', T, async () => {
    const hub = await RawHub.negotiateAndOpen(server.url, '/hubs/test');
    await hub.handshake('json', 1);
    hub.sendMessage({ type: 1, invocationId: '1', target: 'Add', arguments: [2, 3] });
    assert.deepEqual(await hub.nextMessage(), { type: 3, invocationId: '1', result: 5 });
    assert.ok(hub.frames.length >= 2);
    assert.ok(hub.frames.every((f) => !f.isBinary), 'every frame from the server is text');
  });

  test('several messages in one frame, and one message split across frames', T, async () => {
    const hub = await openRawMsgpack();
    hub.send(Buffer.concat([invocation('1', 'Echo', 'a'), binaryFrame(Buffer.from([0x91, 0x06])), invocation('2', 'Echo', 'b')]));
    const two = [await hub.nextMessage(), await hub.nextMessage()];
    two.sort((x, y) => x[2].localeCompare(y[2]));
    assert.deepEqual(two, [[3, {}, '1', 3, 'a'], [3, {}, '2', 3, 'b']]);

    // 300 bytes of payload make a two-byte length prefix; split inside the prefix and inside the body.
    const long = invocation('3', 'Echo', 'z'.repeat(300));
    assert.ok(long[0] & 0x80, 'a multi-byte length prefix');
    hub.send(long.subarray(0, 1));
    await sleep(50);
    hub.send(long.subarray(1, 40));
    await sleep(50);
    hub.send(Buffer.concat([long.subarray(40), invocation('4', 'Echo', 'after')]));
    assert.deepEqual(await hub.nextMessage(), [3, {}, '3', 3, 'z'.repeat(300)]);
    assert.deepEqual(await hub.nextMessage(), [3, {}, '4', 3, 'after']);
  });

  test('a malformed msgpack message closes only that connection, with an error Close', T, async () => {
    const other = await msgpackClient();
    const hub = await openRawMsgpack();
    hub.send(Buffer.from([0x01, 0xc1])); // 0xc1 is never used in msgpack
    const close = await hub.nextMessage();
    assert.deepEqual(close, CLOSE_WITH_ERROR);
    await hub.waitClosed();
    assert.equal(await other.invoke('Echo', 'unaffected'), 'unaffected');
  });

  test('a msgpack message over 32 KiB closes that connection; one under the limit works', T, async () => {
    const other = await msgpackClient();

    const fits = await openRawMsgpack();
    const small = 'x'.repeat(30_000);
    fits.send(invocation('1', 'Echo', small));
    assert.deepEqual(await fits.nextMessage(), [3, {}, '1', 3, small]);

    const tooBig = await openRawMsgpack();
    const big = invocation('1', 'Echo', 'x'.repeat(40_000));
    assert.ok(big.length > 32 * 1024);
    tooBig.send(big);
    assert.deepEqual(await tooBig.nextMessage(), CLOSE_WITH_ERROR);
    await tooBig.waitClosed();

    assert.equal(await other.invoke('Echo', 'unaffected'), 'unaffected');
    fits.send(invocation('2', 'Echo', 'still open'));
    assert.deepEqual(await fits.nextMessage(), [3, {}, '2', 3, 'still open']);
  });
});
