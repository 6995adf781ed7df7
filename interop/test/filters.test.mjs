// Hub filters with the official @microsoft/signalr client: the `interop` example's
// `/hubs/test-filtered` endpoint has a filter that refuses `Record` of a negative value before
// the method runs and multiplies `Add`'s result by ten. Over WebSockets with JSON and Long
// Polling with MessagePack.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, useServer } from '../lib/server.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

const server = useServer('interop');

const CASES = [
  { name: 'WebSockets + json', transport: 'WebSockets', protocol: 'json' },
  { name: 'LongPolling + messagepack', transport: 'LongPolling', protocol: 'messagepack' },
];

for (const { name, transport, protocol } of CASES) {
  describe(`filters over ${name}`, () => {
    const client = (path = '/hubs/test-filtered') =>
      connect(`${server.url}${path}`, { transport, protocol });

    test('a short-circuiting filter answers with the error and the method never runs', T, async () => {
      const connection = await client();
      await connection.invoke('Record', 1);
      await assert.rejects(connection.invoke('Record', -5), (err) => {
        assert.equal(
          err.message,
          "An unexpected error occurred invoking 'Record' on the server. HubException: negative values are refused by a filter",
        );
        return true;
      });
      await connection.invoke('Record', 2);
      assert.deepEqual(await connection.invoke('Recorded'), [1, 2], 'the refused value was never recorded');
    });

    test('a filter changes the result', T, async () => {
      const connection = await client();
      assert.equal(await connection.invoke('Add', 2, 3), 50);
      assert.equal(await connection.invoke('Echo', 'untouched'), 'untouched');
      const unfiltered = await client('/hubs/test');
      assert.equal(await unfiltered.invoke('Add', 2, 3), 5, 'other endpoints of the same hub have no filter');
    });
  });
}
