// The server's keep-alive as the official client sees it, on every transport and protocol:
// the server pings a connection only when it was sent nothing for the keep-alive interval
// (ASP.NET Core pings every interval, whatever it sent; a client resets its server timeout on
// any message, so Pings between messages tell it nothing). A client receiving a stream hears
// no Ping while one that waits hears one per interval (Long Polling none at all); and a
// client whose server timeout is twice the interval (what ASP.NET Core recommends) never
// times out across the change from one to the other.
// The endpoint /hubs/chaos of the interop server pings every 0.5 s (examples/src/chaos_hub.rs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '@microsoft/signalr';
import { buildConnection, COMBINATIONS, hubProtocol, sleep, useServer } from '../lib/server.mjs';

const KEEP_ALIVE_MS = 500;
const T = { timeout: 30_000 };

const server = useServer('interop');

/** The official protocol for `name`, counting the Pings it parses. */
function countingPings(name) {
  const protocol = hubProtocol(name);
  const parse = protocol.parseMessages.bind(protocol);
  protocol.pings = 0;
  protocol.parseMessages = (input, logger) => {
    const messages = parse(input, logger);
    protocol.pings += messages.filter((m) => m.type === MessageType.Ping).length;
    return messages;
  };
  return protocol;
}

for (const { name, transport, protocol } of COMBINATIONS) {
  const pings = transport === 'LongPolling' ? 'no Ping at all' : 'no Ping while a stream flows, one per interval once idle';
  test(`${name}: ${pings}, and the client never times out`, T, async () => {
    const counting = countingPings(protocol);
    const connection = buildConnection(`${server.url}/hubs/chaos`, { transport, protocol: counting });
    connection.serverTimeoutInMilliseconds = 2 * KEEP_ALIVE_MS;
    // The client pings too, within the server's client timeout of 2 s.
    connection.keepAliveIntervalInMilliseconds = 300;
    let closed;
    connection.onclose((error) => (closed = error ?? 'closed'));
    await connection.start();

    // An item every 100 ms for 3 s: six intervals, none of them quiet.
    const items = await new Promise((resolve, reject) => {
      const seen = [];
      connection.stream('Counter', 30, 100).subscribe({
        next: (item) => seen.push(item),
        error: reject,
        complete: () => resolve(seen),
      });
    });
    assert.equal(items.length, 30);
    assert.equal(counting.pings, 0, 'no Ping while the stream kept the connection busy');

    // Idle for four intervals: the server's Pings are all the client hears. Long Polling
    // gets none: its polls are its keep-alive, as in ASP.NET Core.
    await sleep(4 * KEEP_ALIVE_MS);
    if (transport === 'LongPolling') assert.equal(counting.pings, 0, 'no Ping over Long Polling');
    else assert.ok(counting.pings >= 3 && counting.pings <= 5, `${counting.pings} Pings over 4 idle intervals`);
    assert.equal(closed, undefined, 'the client did not time out');
    assert.equal(await connection.invoke('Echo', 'still here'), 'still here');
  });
}
