// The official @microsoft/signalr client against the `streaming` example, over
// every transport × hub protocol combination: server-to-client streams (items, completion, dispose →
// cancellation on the server, errors), client-to-server uploads with Subject,
// and MaximumParallelInvocationsPerClient (1 on /hubs/streaming-serial, 4 on
// /hubs/streaming; streams take no slot).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { HubConnectionState, MessageType, Subject } from '@microsoft/signalr';
import {
  buildConnection,
  COMBINATIONS,
  connect,
  QUIET_MS,
  sleep,
  usedTransport,
  useServer,
  waitFor,
} from '../lib/server.mjs';
import { runStream, spyProtocol, waitForItems } from '../lib/streams.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 20_000 };

const PARALLEL = '/hubs/streaming';
const SERIAL = '/hubs/streaming-serial';

const server = useServer('streaming');
const hub = (path = PARALLEL) => `${server.url}${path}`;

async function assertStillWorks(connection) {
  assert.equal(await connection.invoke('Delay', 0), 0, 'the connection keeps working');
}

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

async function assertInvokeError(connection, promise, expectedMessage) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`);
    assert.equal(err.message, expectedMessage);
    return true;
  });
  await assertStillWorks(connection);
}

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`over ${name}`, () => {
    const client = (path = PARALLEL, opts = {}) => connect(hub(path), { transport, protocol, ...opts });

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

    describe('client-to-server streams (Subject)', () => {
      test('UploadStream collects the items of one Subject', T, async () => {
        const connection = await client();
        const subject = new Subject();
        const result = connection.invoke('UploadStream', subject);
        subject.next('a');
        subject.next('b ✓');
        subject.next('');
        subject.complete();
        assert.deepEqual(await result, ['a', 'b ✓', '']);
        await assertStillWorks(connection);
      });

      test('an upload completed immediately is an empty stream', T, async () => {
        const connection = await client();
        const subject = new Subject();
        const result = connection.invoke('UploadStream', subject);
        subject.complete();
        assert.deepEqual(await result, []);
        await assertStillWorks(connection);
      });

      test('items sent over time arrive in order', T, async () => {
        const connection = await client();
        const subject = new Subject();
        const result = connection.invoke('UploadStream', subject);
        for (const item of ['one', 'two', 'three']) {
          subject.next(item);
          await sleep(20);
        }
        subject.complete();
        assert.deepEqual(await result, ['one', 'two', 'three']);
      });

      test('200 items (more than the 10-item server buffer) all arrive in order', T, async () => {
        const connection = await client();
        const subject = new Subject();
        const result = connection.invoke('UploadStream', subject);
        const expected = Array.from({ length: 200 }, (_, i) => `item-${i}`);
        for (const item of expected) subject.next(item);
        subject.complete();
        assert.deepEqual(await result, expected);
        await assertStillWorks(connection);
      });

      test('a close the server asks for is carried out while items wait for room in the upload buffer', T, async () => {
        const connection = await client();
        const closed = new Promise((resolve) => connection.onclose(resolve));
        const subject = new Subject();
        // The method reads one item per 100 ms and closes the connection after 1.5 s. The
        // client sends the items one after another (a POST each over SSE and Long Polling) and
        // must have sent them all by then: it leaves a send that fails after the close as an
        // unhandled rejection.
        const result = connection.invoke('ReadSlowlyThenClose', subject, 1500);
        const rejected = assert.rejects(result);
        const started = Date.now();
        // Reading all 60 would take 6 s; the 11th on waits for room in the 10-item buffer.
        for (let i = 0; i < 60; i++) subject.next(i);
        const error = await closed;
        const elapsed = Date.now() - started;
        assert.equal(error, undefined, `closed with ${error}`);
        assert.ok(elapsed < 4500, `closed only after ${elapsed} ms`);
        await rejected;
      });

      test('SumStreams: two uploads separated by an ordinary argument', T, async () => {
        const connection = await client();
        const a = new Subject();
        const b = new Subject();
        const result = connection.invoke('SumStreams', a, 'totals', b);
        a.next(1);
        b.next(10);
        a.next(2);
        b.next(20);
        a.next(3);
        a.complete();
        b.next(-5);
        b.complete();
        assert.equal(await result, 'totals: 6, 25');
        await assertStillWorks(connection);
      });

      test('client quirk: the JS client drops the second of two ADJACENT Subject arguments', T, async () => {
        // HubConnection._replaceStreamingParams splices each observable out of the
        // argument list while advancing the index, so the argument right after a
        // stream is never looked at. (Shown on an unstarted connection.)
        const probe = buildConnection(hub(), { transport, protocol });
        const a = new Subject();
        const b = new Subject();
        const adjacent = [a, b];
        const [, adjacentIds] = probe._replaceStreamingParams(adjacent);
        assert.equal(adjacentIds.length, 1, 'only one stream id for two adjacent Subjects');
        assert.deepEqual(adjacent, [b], 'the second Subject stays behind as an ordinary argument');
        const separated = [a, 'label', b];
        const [, separatedIds] = probe._replaceStreamingParams(separated);
        assert.equal(separatedIds.length, 2, 'a separator argument makes both count as streams');
        assert.deepEqual(separated, ['label']);

        // Hence SumStreams(a, label, b): with the separator both uploads work.
        const connection = await client();
        const x = new Subject();
        const y = new Subject();
        const result = connection.invoke('SumStreams', x, 'sep', y);
        x.next(40);
        x.complete();
        y.next(2);
        y.complete();
        assert.equal(await result, 'sep: 40, 2');
      });

      test('Decorate mixes ordinary arguments and an upload', T, async () => {
        const connection = await client();
        const subject = new Subject();
        const result = connection.invoke('Decorate', '<<', subject, '>>');
        subject.next('a');
        subject.next('b');
        subject.next('c');
        subject.complete();
        assert.equal(await result, '<<abc>>');
        const empty = new Subject();
        const emptyResult = connection.invoke('Decorate', '[', empty, ']');
        empty.complete();
        assert.equal(await emptyResult, '[]');
      });

      test('Shout: an upload feeding a server-to-client stream', T, async () => {
        const connection = await client();
        const subject = new Subject();
        const run = runStream(connection.stream('Shout', subject));
        subject.next('hello');
        await waitForItems(run, 1);
        assert.deepEqual(run.items, ['HELLO'], 'items are streamed back while the upload is still open');
        subject.next('wörld');
        subject.next('');
        subject.complete();
        assert.deepEqual(await run.done, ['HELLO', 'WÖRLD', '']);
        await assertStillWorks(connection);
      });

      test('a Subject completed with an error fails the invocation with a HubException', T, async () => {
        const spy = spyProtocol(protocol);
        const connection = await client(PARALLEL, { protocol: spy.protocol });
        const subject = new Subject();
        const result = connection.invoke('UploadStream', subject);
        subject.next('fine');
        subject.error(new Error('bad input'));
        await assertInvokeError(
          connection,
          result,
          "An unexpected error occurred invoking 'UploadStream' on the server. HubException: bad input",
        );
        // What the JS client put on the wire: the Error's message, not `${error}`.
        const streamCompletion = spy.sent.find((m) => m.type === MessageType.Completion && m.error !== undefined);
        assert.equal(streamCompletion.error, 'bad input');

        // A failed upload into a server stream ends that stream with the same kind of error.
        const shout = new Subject();
        const run = runStream(connection.stream('Shout', shout));
        shout.next('ok');
        await waitForItems(run, 1);
        shout.error(new Error('upload broke'));
        await assert.rejects(run.done, (err) => {
          assert.equal(err.message, 'An error occurred on the server while streaming results. HubException: upload broke');
          return true;
        });
        assert.deepEqual(run.items, ['OK']);
        await assertStillWorks(connection);
      });
    });

    describe('MaximumParallelInvocationsPerClient', () => {
      test('serial: invocations complete one after another, in invocation order', T, async () => {
        const connection = await client(SERIAL);
        const order = [];
        const started = performance.now();
        const results = await Promise.all(
          [300, 10, 10].map((ms, i) =>
            connection.invoke('Delay', ms).then((v) => {
              order.push(i);
              return v;
            }),
          ),
        );
        const elapsed = performance.now() - started;
        assert.deepEqual(results, [300, 10, 10]);
        assert.deepEqual(order, [0, 1, 2]);
        assert.ok(elapsed >= 320, `three serial Delays took only ${elapsed.toFixed(0)} ms`);
      });

      test('serial: streams take no slot, but nothing is read while an invocation waits for one', T, async () => {
        const connection = await client(SERIAL);
        const started = performance.now();
        const at = () => performance.now() - started;
        // A stream started while the slot is taken runs at once.
        const d1 = connection.invoke('Delay', 500).then(() => at());
        const early = runStream(connection.stream('StreamCounter', 3, 1));
        assert.deepEqual(await early.done, [0, 1, 2]);
        const earlyDone = at();
        // Behind a second Delay that waits for the slot, the server reads nothing more (as
        // ASP.NET Core): the next stream and a Ping wait until the first Delay is done.
        const d2 = connection.invoke('Delay', 500).then(() => at());
        const late = runStream(connection.stream('StreamCounter', 3, 1));
        await connection._sendWithProtocol({ type: MessageType.Ping });
        assert.deepEqual(await late.done, [0, 1, 2]);
        const lateDone = at();
        const [d1Done, d2Done] = await Promise.all([d1, d2]);
        const timeline = `stream 1 done at ${earlyDone.toFixed(0)} ms, Delay 1 at ${d1Done.toFixed(0)}, stream 2 at ${lateDone.toFixed(0)}, Delay 2 at ${d2Done.toFixed(0)}`;
        assert.ok(earlyDone < d1Done, timeline);
        assert.ok(d1Done <= lateDone && lateDone < d2Done, timeline);
        assert.ok(d2Done >= 1000, `the second Delay(500) must wait for the first; ${timeline}`);
        assert.equal(connection.state, HubConnectionState.Connected);
        await assertStillWorks(connection);
      });

      test('4 slots: four Delay(300) run in parallel', T, async () => {
        const connection = await client(PARALLEL);
        const started = performance.now();
        const results = await Promise.all([1, 2, 3, 4].map(() => connection.invoke('Delay', 300)));
        const elapsed = performance.now() - started;
        assert.deepEqual(results, [300, 300, 300, 300]);
        assert.ok(elapsed >= 300 && elapsed < 800, `four parallel Delay(300) took ${elapsed.toFixed(0)} ms`);

        // And completions no longer follow invocation order.
        const order = [];
        await Promise.all(
          [300, 10].map((ms) => connection.invoke('Delay', ms).then((v) => order.push(v))),
        );
        assert.deepEqual(order, [10, 300]);
      });
    });
  });
}
