// A client's burst of calls, as the official client sends it when code does not await each
// call: the server reads the messages that arrive together at once and sends what they
// produce in as few writes as it can. On every transport and protocol, every call still gets
// its own answer, the calls run in the order they were sent, and what the hub sends the
// caller meanwhile arrives once each, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, COMBINATIONS, connect, useServer } from '../lib/server.mjs';

const CALLS = 300;
const T = { timeout: 30_000 };

const server = useServer('interop');

for (const { name, transport, protocol } of COMBINATIONS) {
  test(`${name}: ${CALLS} calls sent at once each get their own answer, in order`, T, async () => {
    let received;
    const connection = await connect(`${server.url}/hubs/test`, {
      transport,
      protocol,
      setup: (c) => (received = collect(c, 'Received')),
    });
    // Echo, SendToCaller and Record in turn, none awaited before the next is sent.
    const calls = Array.from({ length: CALLS }, (_, i) => {
      switch (i % 3) {
        case 0:
          return connection.invoke('Echo', `echo ${i}`);
        case 1:
          return connection.invoke('SendToCaller', `sent ${i}`);
        default:
          return connection.invoke('Record', i);
      }
    });
    const results = await Promise.all(calls);
    results.forEach((result, i) => {
      assert.equal(result, i % 3 === 0 ? `echo ${i}` : null, `the answer to call ${i}`);
    });
    const sent = Array.from({ length: CALLS / 3 }, (_, k) => `sent ${3 * k + 1}`);
    assert.deepEqual(await received.waitForCount(sent.length), sent);
    const recorded = Array.from({ length: CALLS / 3 }, (_, k) => 3 * k + 2);
    assert.deepEqual(await connection.invoke('Recorded'), recorded, 'the calls ran in order');
    // Nothing more, and the connection carries on.
    assert.equal(received.length, sent.length);
    assert.equal(await connection.invoke('Echo', 'after'), 'after');
  });
}
