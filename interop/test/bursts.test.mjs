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

// A burst of broadcasts to more connections than a sender writes to itself: a fan-out's
// deliveries are queued first and written by tasks of their own, so the broadcasts that pile
// up on a connection meanwhile leave together. Every receiver, whatever its transport and
// protocol, still gets each broadcast once, in the order sent.
const PER_COMBINATION = 8;
const BROADCASTS = 100;

test(`${BROADCASTS} broadcasts sent at once reach ${PER_COMBINATION * COMBINATIONS.length} connections on every transport and protocol once each, in order`, T, async () => {
  const receivers = [];
  for (const { name, transport, protocol } of COMBINATIONS) {
    for (let i = 0; i < PER_COMBINATION; i++) {
      let received;
      await connect(`${server.url}/hubs/test`, {
        transport,
        protocol,
        setup: (c) => (received = collect(c, 'Received')),
      });
      receivers.push({ name, received });
    }
  }
  const sender = await connect(`${server.url}/hubs/test`, { transport: 'WebSockets', protocol: 'json' });
  const sent = Array.from({ length: BROADCASTS }, (_, i) => `broadcast ${i}`);
  const answers = await Promise.all(sent.map((message) => sender.invoke('SendToAll', message)));
  assert.deepEqual(answers, sent.map(() => null));
  for (const { name, received } of receivers) {
    assert.deepEqual(await received.waitForCount(BROADCASTS), sent, `what a ${name} receiver got`);
  }
  // Nothing more arrives, and the receivers carry on.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(receivers.every(({ received }) => received.length === BROADCASTS));
  assert.equal(await sender.invoke('Echo', 'after'), 'after');
});
