// The `testhub` example (the server of the official TypeScript client's functional tests,
// dotnet/aspnetcore src/SignalR/clients/ts/FunctionalTests) against the official client, as
// those tests drive it (ts/HubConnectionTests.ts): every TestHub method over every transport ×
// protocol, /testhub-nowebsockets, /uncreatable and GET /clientresult. The HTTP endpoints,
// /authorizedhub, /echo and the reconnect cases: testhub-endpoints.test.mjs.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from '@microsoft/signalr';
import { buildConnection, cleanup, closeOf, COMBINATIONS, connect, startServer, waitFor } from '../lib/server.mjs';

const T = { timeout: 20_000 };
const MESSAGE = '你好，世界！';

let server;
const url = (path = '/testhub') => `${server.url}${path}`;

before(async () => {
  server = await startServer('testhub');
});
after(async () => {
  await server?.stop();
});
afterEach(cleanup);

/** The items of a stream, or its error. */
function streamed(connection, ...args) {
  return new Promise((resolve, reject) => {
    const items = [];
    connection.stream(...args).subscribe({
      next: (item) => items.push(item),
      complete: () => resolve(items),
      error: reject,
    });
  });
}

/** 'message' with one letter in upper case: client method names ignore case. */
function randomlyCased(name) {
  const i = Math.floor(Math.random() * (name.length - 1));
  return name.slice(0, i) + name[i].toUpperCase() + name.slice(i + 1);
}

/** What GET /clientresult/{id} answers for `connection`. */
async function clientResult(connection) {
  const response = await fetch(`${server.url}/clientresult/${connection.connectionId}`);
  assert.equal(response.status, 200);
  return response.text();
}

const unexpected = (method, error) => `An unexpected error occurred invoking '${method}' on the server. ${error}`;

/** ComplexObject as .NET sends it in each protocol. */
function complexObject(protocol, { bytes, base64, date, iso, ints, text }) {
  return {
    ByteArray: protocol === 'json' ? base64 : new Uint8Array(bytes),
    DateTime: protocol === 'json' ? iso : date,
    Guid: '00010203-0405-0607-0706-050403020100',
    IntArray: ints,
    String: text,
  };
}

const SENT = {
  bytes: [0x68, 0x65, 0x6c, 0x6c, 0x6f],
  base64: 'aGVsbG8=',
  date: new Date(Date.UTC(2002, 3, 1, 10, 20, 15)),
  iso: '2002-04-01T10:20:15Z',
  ints: [0x01, 0x02, 0x03, 0xff],
  text: 'Hello, World!',
};
const SERVER_SENT = {
  bytes: [1, 2, 3],
  base64: 'AQID',
  date: new Date(Date.UTC(2000, 0, 1)),
  iso: '2000-01-01T00:00:00Z',
  ints: [1, 2, 3],
  text: 'hello world',
};

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`TestHub, ${name}`, () => {
    const open = (setup, path) => connect(url(path), { transport, protocol, setup, quiet: true });

    test('invokes a method and receives its result, then closes cleanly', T, async () => {
      const connection = await open();
      const close = closeOf(connection);
      assert.equal(await connection.invoke('Echo', MESSAGE), MESSAGE);
      await connection.send('Echo', MESSAGE); // fire and forget: no result, no error
      await connection.stop();
      assert.equal(await close, undefined);
    });

    test('methods with a declared result always answer, null included', T, async () => {
      const connection = await open();
      assert.equal(await connection.invoke('Echo', null), null);
      assert.equal(await connection.invoke('GetCookie', 'noSuchCookie'), null);
      assert.equal(await connection.invoke('GetHeader', 'X-No-Such-Header'), null);
      assert.equal(await connection.invoke('InvokeWithString', 'x'), null);
      assert.equal(await connection.invoke('GetCallerConnectionId'), connection.connectionId);
      assert.equal(await connection.invoke('GetActiveTransportName'), transport);
      await assert.rejects(connection.invoke('GetNumRedirects'), {
        message: unexpected('GetNumRedirects', "ArgumentNullException: Value cannot be null. (Parameter 's')"),
      });
    });

    test('sends a structural object and receives it back', T, async () => {
      let received;
      const connection = await open((c) => c.on('CustomObject', (value) => (received = value)));
      await connection.send('SendCustomObject', { Name: 'test', Value: 42 });
      const value = await waitFor(() => received, 5_000, 'CustomObject');
      assert.deepEqual(value, { Name: 'test', Value: 42 });
    });

    test('receives server calls, names ignoring case, also after a restart', T, async () => {
      const received = [];
      const connection = await open((c) => c.on(randomlyCased('message'), (m) => received.push(m)));
      await connection.invoke('InvokeWithString', '你好 SignalR！');
      await connection.stop();
      await connection.start();
      await connection.invoke('InvokeWithString', '你好 SignalR！');
      await waitFor(() => received.length === 2, 5_000, 'two Message calls');
      assert.deepEqual(received, ['你好 SignalR！', '你好 SignalR！']);
      assert.equal(await connection.invoke('Echo', MESSAGE), MESSAGE, 'works after a restart');
    });

    test('streams, and cancels an infinite stream: the server says StreamCanceled', T, async () => {
      let canceled = false;
      const connection = await open((c) => c.on('StreamCanceled', () => (canceled = true)));
      assert.deepEqual(await streamed(connection, 'Stream'), ['a', 'b', 'c']);
      assert.deepEqual(await streamed(connection, 'EmptyStream'), []);
      // Disposed at once: the cancel follows the invocation immediately.
      connection.stream('InfiniteStream').subscribe({ next() {}, complete() {}, error() {} }).dispose();
      await waitFor(() => canceled, 5_000, 'StreamCanceled');
    });

    test('errors keep their texts, with the .NET exception type', T, async () => {
      const connection = await open();
      await assert.rejects(connection.invoke('ThrowException', 'An error occurred.'), {
        message: unexpected('ThrowException', 'InvalidOperationException: An error occurred.'),
      });
      await assert.rejects(streamed(connection, 'StreamThrowException', 'An error occurred.'), {
        message: unexpected('StreamThrowException', 'InvalidOperationException: An error occurred.'),
      });
      for (const method of ['EmptyStream', 'Stream']) {
        await assert.rejects(connection.invoke(method), {
          message: `The client attempted to invoke the streaming '${method}' method with a non-streaming invocation.`,
        });
      }
      await assert.rejects(streamed(connection, 'Echo', '42'), {
        message: "The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation.",
      });
      assert.equal(await connection.invoke('Echo', 'still open'), 'still open');
    });

    test('uploads with a Subject; an upload ending in an error fails the call with it', T, async () => {
      const connection = await open();
      const subject = new Subject();
      const result = connection.invoke('StreamingConcat', subject);
      for (const part of ['Hello ', 'world', '!']) subject.next(part);
      subject.complete();
      assert.equal(await result, 'Hello world!');

      const failing = new Subject();
      const failed = connection.invoke('StreamingConcat', failing);
      for (const part of ['Hello ', 'world', '!']) failing.next(part);
      failing.error(new Error('Something bad'));
      await assert.rejects(failed, { message: unexpected('StreamingConcat', 'HubException: Something bad') });
    });

    test('ComplexObject round trips and arrives exactly as .NET sends it', T, async () => {
      // Property names as declared; bytes as base64 (JSON) or bin, date-times with only the
      // fraction digits they need (JSON) or the timestamp extension, the GUID as a string.
      const connection = await open();
      const sent = complexObject(protocol, SENT);
      assert.deepEqual(await connection.invoke('EchoComplexObject', sent), sent);
      assert.deepEqual(await connection.invoke('SendComplexObject'), complexObject(protocol, SERVER_SENT));
    });

    test('GET /clientresult/{id} answers the client result or its error', T, async () => {
      const returning = await open((c) => c.on('Result', () => 10));
      assert.equal(await clientResult(returning), '10');
      const throwing = await open((c) =>
        c.on('Result', () => {
          throw new Error('from callback');
        }),
      );
      assert.equal(await clientResult(throwing), 'Error: from callback');
      const silent = await open();
      assert.equal(await clientResult(silent), "Client didn't provide a result.");
    });

    test('a hub that cannot be created closes the connection with its error', T, async () => {
      const expected =
        'Server returned an error on close: Connection closed with an error. ' +
        "InvalidOperationException: Unable to resolve service for type 'System.Object' while attempting to activate 'FunctionalTests.UncreatableHub'.";
      const connection = buildConnection(url('/uncreatable'), { transport, protocol, quiet: true });
      const close = closeOf(connection);
      // Either start fails or onclose reports it, as the official test allows.
      const error = await connection.start().then(() => close, (e) => e);
      assert.equal(error?.message, expected);
    });
  });
}

describe('/testhub-nowebsockets', () => {
  test('JSON negotiates Server-Sent Events, MessagePack skips them for Long Polling', T, async () => {
    const path = '/testhub-nowebsockets';
    const json = await connect(url(path), { transport: null, protocol: 'json' });
    assert.equal(await json.invoke('GetActiveTransportName'), 'ServerSentEvents');
    const messagepack = await connect(url(path), { transport: null, protocol: 'messagepack' });
    assert.equal(await messagepack.invoke('GetActiveTransportName'), 'LongPolling');
    const response = await fetch(`${url(path)}/negotiate?negotiateVersion=1`, { method: 'POST' });
    const offered = (await response.json()).availableTransports.map((t) => t.transport);
    assert.deepEqual(offered, ['ServerSentEvents', 'LongPolling']);
  });
});
