// The official @microsoft/signalr client against the `streaming` example, over
// every transport × hub protocol combination: server-to-client streams (items, completion,
// dispose → cancellation on the server, errors). Uploads and the invocation slots are in
// uploads-and-slots.test.mjs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '@microsoft/signalr';
import { COMBINATIONS, QUIET_MS, sleep, usedTransport, waitFor } from '../lib/server.mjs';
import {
  assertInvokeError,
  assertStillWorks,
  PARALLEL,
  runStream,
  SERIAL,
  spyProtocol,
  T,
  useStreamingServer,
  waitForItems,
} from '../lib/streams.mjs';

const streaming = useStreamingServer();

/**
 * Stats() once no producer is alive any more (started === stopped), so that a
 * producer of an earlier test that is still being dropped cannot skew deltas.
 */
async function quiescentStats(connection) {
  let last;
  return waitFor(
    async () => {
      last = await connection.invoke('Stats');
      return last.started === last.stopped ? last : null;
    },
    5_000,
    () => `all stream producers to stop; last Stats(): ${JSON.stringify(last)}`,
  );
}

/** Polls Stats() until predicate(stats) holds; returns those stats. */
async function waitForStats(connection, predicate, what) {
  let last;
  return waitFor(
    async () => {
      last = await connection.invoke('Stats');
      return predicate(last) ? last : null;
    },
    5_000,
    () => `${what}; last Stats(): ${JSON.stringify(last)}`,
  );
}

async function assertStreamError(connection, args, expectedItems, expectedMessage) {
  const run = runStream(connection.stream(...args));
  await assert.rejects(run.done, (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`);
    assert.equal(err.message, expectedMessage);
    return true;
  });
  assert.deepEqual(run.items, expectedItems);
  await assertStillWorks(connection);
}

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`over ${name}`, () => {
    const client = streaming.client(transport, protocol);

    describe('server-to-client streams', () => {
      test(`the client really speaks ${protocol} over ${transport}`, T, async () => {
        const connection = await client();
        // Internal fields of the official client, read only to prove the parametrisation took effect.
        assert.equal(connection._protocol.name, protocol);
        assert.equal(usedTransport(connection), transport);
      });

      test('StreamCounter yields exactly 0..count-1 in order, then completes', T, async () => {
        const connection = await client();
        const items = await runStream(connection.stream('StreamCounter', 10, 5)).done;
        assert.deepEqual(items, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        // Also on the serial path.
        const serial = await client(SERIAL);
        assert.deepEqual(await runStream(serial.stream('StreamCounter', 3, 1)).done, [0, 1, 2]);
      });

      test('StreamCounter(0, ...) is an empty stream that completes', T, async () => {
        const connection = await client();
        assert.deepEqual(await runStream(connection.stream('StreamCounter', 0, 5)).done, []);
        await assertStillWorks(connection);
      });

      test('StreamResults yields exact progress objects ending at 100', T, async () => {
        const connection = await client();
        const items = await runStream(connection.stream('StreamResults', 'job-7', 4)).done;
        assert.deepEqual(items, [
          { jobId: 'job-7', percent: 25, message: 'step 1 of 4' },
          { jobId: 'job-7', percent: 50, message: 'step 2 of 4' },
          { jobId: 'job-7', percent: 75, message: 'step 3 of 4' },
          { jobId: 'job-7', percent: 100, message: 'step 4 of 4' },
        ]);
        assert.deepEqual(await runStream(connection.stream('StreamResults', 'one', 1)).done, [
          { jobId: 'one', percent: 100, message: 'step 1 of 1' },
        ]);
      });

      test('StreamStockPrices yields a tick for each symbol', T, async () => {
        const connection = await client();
        const run = runStream(connection.stream('StreamStockPrices', ['MSFT', 'AAPL']));
        await waitForItems(run, 4);
        run.subscription.dispose();
        assert.deepEqual(run.items.slice(0, 4), [
          { symbol: 'MSFT', price: 100, tick: 0 },
          { symbol: 'AAPL', price: 110, tick: 0 },
          { symbol: 'MSFT', price: 100.25, tick: 1 },
          { symbol: 'AAPL', price: 110.25, tick: 1 },
        ]);
        await assertStillWorks(connection);
      });

      test('several streams run concurrently on one connection', T, async () => {
        const connection = await client();
        const a = runStream(connection.stream('StreamCounter', 5, 10));
        const b = runStream(connection.stream('StreamResults', 'x', 2));
        const c = runStream(connection.stream('StreamCounter', 3, 1));
        assert.deepEqual(await c.done, [0, 1, 2]);
        assert.deepEqual(await a.done, [0, 1, 2, 3, 4]);
        assert.deepEqual((await b.done).map((p) => p.percent), [50, 100]);
      });
    });

    describe('dispose and disconnect cancel the stream on the server', () => {
      test('dispose() of StreamStockPrices drops the producer; nothing arrives afterwards', T, async () => {
        const spy = spyProtocol(protocol);
        const connection = await client(PARALLEL, { protocol: spy.protocol });
        const before = await quiescentStats(connection);

        const run = runStream(connection.stream('StreamStockPrices', ['MSFT']));
        await waitForItems(run, 3);
        const id = spy.invocationIdOf('StreamStockPrices');
        run.subscription.dispose();

        await waitForStats(
          connection,
          (s) => s.started === before.started + 1 && s.stopped === before.stopped + 1,
          'the StreamStockPrices producer to be dropped on the server (stopped + 1)',
        );
        // After a CancelInvocation the server still owes a Completion, without an error.
        assert.ok(
          spy.sent.some((m) => m.type === MessageType.CancelInvocation && m.invocationId === id),
          'the client sent CancelInvocation',
        );
        await waitFor(
          () => spy.receivedFor(id).some((m) => m.type === MessageType.Completion),
          2_000,
          () => `a Completion for the cancelled stream ${id}; got ${JSON.stringify(spy.receivedFor(id).slice(-3))}`,
        );
        const forId = spy.receivedFor(id);
        const completion = forId.find((m) => m.type === MessageType.Completion);
        assert.ok(!completion.error, `the Completion after cancel carries no error, got ${JSON.stringify(completion)}`);
        assert.equal(forId.at(-1), completion, 'no StreamItem follows the Completion');

        const wireCount = forId.length;
        const clientCount = run.items.length;
        await sleep(QUIET_MS);
        assert.equal(spy.receivedFor(id).length, wireCount, 'no more messages for the stream arrive');
        assert.equal(run.items.length, clientCount, 'no more items reach the subscriber');
        await assertStillWorks(connection);
      });

      test('WaitForCancel observes the cancellation through ctx.cancelled()', T, async () => {
        const spy = spyProtocol(protocol);
        const connection = await client(PARALLEL, { protocol: spy.protocol });
        const before = await connection.invoke('Stats');
        const run = runStream(connection.stream('WaitForCancel'));
        const id = spy.invocationIdOf('WaitForCancel');
        await sleep(100); // let the server start the stream
        run.subscription.dispose();
        await waitForStats(
          connection,
          (s) => s.cancellations === before.cancellations + 1,
          'the server to observe the cancellation (cancellations + 1)',
        );
        await waitFor(
          () => spy.receivedFor(id).some((m) => m.type === MessageType.Completion),
          2_000,
          `a Completion for the cancelled stream ${id}`,
        );
        const forId = spy.receivedFor(id);
        assert.deepEqual(forId.map((m) => m.type), [MessageType.Completion], 'no items, one Completion');
        assert.ok(!forId[0].error, `the Completion after cancel carries no error, got ${JSON.stringify(forId[0])}`);
        assert.deepEqual(run.items, []);
        await assertStillWorks(connection);
      });

      test('stopping the connection while a stream runs stops the producer', T, async () => {
        const observer = await client();
        const before = await quiescentStats(observer);
        const streamer = await client();
        const run = runStream(streamer.stream('StreamStockPrices', ['MSFT', 'AAPL']));
        await waitForItems(run, 2);
        await streamer.stop();
        await waitForStats(
          observer,
          (s) => s.started === before.started + 1 && s.stopped === before.stopped + 1,
          'the producer of the stopped connection to be dropped (stopped + 1)',
        );
        // The subscriber learns that the stream ended with the connection.
        await assert.rejects(run.done);
      });
    });

    describe('stream errors', () => {
      test('StreamWithError: items, then the generic streaming error', T, async () => {
        const connection = await client();
        await assertStreamError(
          connection,
          ['StreamWithError', 3],
          [0, 1, 2],
          'An error occurred on the server while streaming results.',
        );
      });

      test('StreamWithError with detailed errors (/hubs/streaming-serial)', T, async () => {
        const connection = await client(SERIAL);
        await assertStreamError(
          connection,
          ['StreamWithError', 3],
          [0, 1, 2],
          'An error occurred on the server while streaming results. CounterFailed: the counter failed at 3',
        );
        await assertStreamError(
          connection,
          ['StreamWithError', 0],
          [],
          'An error occurred on the server while streaming results. CounterFailed: the counter failed at 0',
        );
      });

      test('StreamOrRefuse: a HubException before the stream starts', T, async () => {
        const connection = await client();
        await assertStreamError(
          connection,
          ['StreamOrRefuse', true],
          [],
          "An unexpected error occurred invoking 'StreamOrRefuse' on the server. HubException: no stream for you",
        );
        assert.deepEqual(await runStream(connection.stream('StreamOrRefuse', false)).done, [1, 2, 3]);
      });

      test('invoke of a streaming method is refused', T, async () => {
        const connection = await client();
        await assertInvokeError(
          connection,
          connection.invoke('StreamCounter', 3, 1),
          "The client attempted to invoke the streaming 'StreamCounter' method with a non-streaming invocation.",
        );
      });

      test('stream of a non-streaming method is refused', T, async () => {
        const connection = await client();
        await assertStreamError(
          connection,
          ['Delay', 10],
          [],
          "The client attempted to invoke the non-streaming 'Delay' method with a streaming invocation.",
        );
      });

      test('wrong number of upload streams', T, async () => {
        const connection = await client();
        await assertInvokeError(
          connection,
          connection.invoke('UploadStream'),
          "An unexpected error occurred invoking 'UploadStream' on the server. HubException: Client sent 0 stream(s), Hub method expects 1.",
        );
      });
    });
  });
}
