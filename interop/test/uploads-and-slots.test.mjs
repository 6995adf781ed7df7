// The official @microsoft/signalr client against the `streaming` example, over
// every transport × hub protocol combination: client-to-server uploads with Subject, and
// MaximumParallelInvocationsPerClient (1 on /hubs/streaming-serial, 4 on /hubs/streaming;
// streams take no slot). Server-to-client streams are in streaming.test.mjs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { HubConnectionState, MessageType, Subject } from '@microsoft/signalr';
import { buildConnection, COMBINATIONS, sleep } from '../lib/server.mjs';
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

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`over ${name}`, () => {
    const client = streaming.client(transport, protocol);

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
        const probe = buildConnection(streaming.hub(), { transport, protocol });
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
