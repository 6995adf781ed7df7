// Client results with the official @microsoft/signalr client against the
// `streaming` example, over every transport × hub protocol combination: the hub (AskCaller,
// AskCallerWithin) and a REST endpoint through the hub context
// (POST /api/ask/{connectionId}) ask the client's `Confirm(question)` handler
// and await its answer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { COMBINATIONS, connect, sleep, waitFor } from '../lib/server.mjs';
import {
  assertInvokeError,
  assertStillWorks,
  PARALLEL,
  SERIAL,
  T,
  useStreamingServer,
} from '../lib/streams.mjs';

const REST_QUESTION = 'Asked from outside the hub?';

const { server, hub } = useStreamingServer();

/** POST /api/ask/{id}; returns { status, body } with the body parsed as JSON. */
async function askFromRest(connectionId) {
  const res = await fetch(`${server.url}/api/ask/${encodeURIComponent(connectionId)}`, { method: 'POST' });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`POST /api/ask answered HTTP ${res.status} with non-JSON ${JSON.stringify(text)}`);
  }
  return { status: res.status, body };
}

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`over ${name}`, () => {
    /**
     * Connects with `handler` (if any) registered for Confirm; every question
     * the handler sees is recorded in `questions`.
     */
    async function client(handler, path = PARALLEL) {
      const questions = [];
      const connection = await connect(hub(path), {
        transport,
        protocol,
        setup(conn) {
          if (handler) {
            conn.on('Confirm', (question) => {
              questions.push(question);
              return handler(question);
            });
          }
        },
      });
      return { connection, questions, id: connection.connectionId };
    }

    describe('from a hub method (AskCaller)', () => {
      test('the handler answering true and false', T, async () => {
        const yes = await client(() => true);
        assert.equal(await yes.connection.invoke('AskCaller', 'Proceed?'), true);
        assert.deepEqual(yes.questions, ['Proceed?']);
        const no = await client(() => false);
        assert.equal(await no.connection.invoke('AskCaller', 'Delete everything? ✓'), false);
        assert.deepEqual(no.questions, ['Delete everything? ✓']);
      });

      test('an async handler answering with a Promise', T, async () => {
        const { connection, questions } = await client(async (q) => {
          await sleep(50);
          return q.endsWith('?');
        });
        assert.equal(await connection.invoke('AskCaller', 'Sure?'), true);
        assert.equal(await connection.invoke('AskCaller', 'Sure.'), false);
        assert.deepEqual(questions, ['Sure?', 'Sure.']);
      });

      test('several client results in flight on one connection', T, async () => {
        const { connection } = await client(async (q) => {
          await sleep(q === 'slow' ? 150 : 10);
          return q === 'slow';
        });
        const [slow, fast] = await Promise.all([
          connection.invoke('AskCaller', 'slow'),
          connection.invoke('AskCaller', 'fast'),
        ]);
        assert.deepEqual([slow, fast], [true, false]);
      });

      test('a handler that throws: its `${error}` becomes a HubException', T, async () => {
        const { connection } = await client(() => {
          throw new Error('nope, not today');
        });
        // The JS client completes with `${error}`, i.e. "Error: nope, not today".
        await assertInvokeError(
          connection,
          connection.invoke('AskCaller', 'Ok?'),
          "An unexpected error occurred invoking 'AskCaller' on the server. HubException: Error: nope, not today",
        );
      });

      test("no handler registered: Client didn't provide a result.", T, async () => {
        const { connection } = await client(null);
        await assertInvokeError(
          connection,
          connection.invoke('AskCaller', 'Anyone?'),
          "An unexpected error occurred invoking 'AskCaller' on the server. HubException: Client didn't provide a result.",
        );
      });

      test('AskCallerWithin times out on a handler that never answers', T, async () => {
        const { connection, questions } = await client(() => new Promise(() => {}));
        const started = Date.now();
        await assertInvokeError(
          connection,
          connection.invoke('AskCallerWithin', 'q', 200),
          "An unexpected error occurred invoking 'AskCallerWithin' on the server.",
        );
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 190 && elapsed < 2_000, `the timeout fired after ${elapsed} ms`);
        assert.deepEqual(questions, ['q']);
      });

      test('AskCallerWithin answers when the client is quick enough; a late answer is ignored', T, async () => {
        const { connection } = await client(async (q) => {
          await sleep(q === 'late' ? 300 : 10);
          return true;
        });
        assert.equal(await connection.invoke('AskCallerWithin', 'quick', 1_000), true);
        await assert.rejects(connection.invoke('AskCallerWithin', 'late', 100), (err) => {
          assert.equal(err.message, "An unexpected error occurred invoking 'AskCallerWithin' on the server.");
          return true;
        });
        await sleep(300); // the late Completion arrives at the server and must be harmless
        assert.equal(await connection.invoke('AskCaller', 'still there?'), true);
      });

      test('on /hubs/streaming-serial (1 slot) a client result inside a hub method is refused', T, async () => {
        const { connection, questions } = await client(() => true, SERIAL);
        await assertInvokeError(
          connection,
          connection.invoke('AskCaller', 'Proceed?'),
          "An unexpected error occurred invoking 'AskCaller' on the server. InvalidOperationException: Client results inside a Hub method requires HubOptions.MaximumParallelInvocationsPerClient to be greater than 1.",
        );
        assert.deepEqual(questions, [], 'the client is never asked');
      });
    });

    describe('from outside the hub (POST /api/ask/{connectionId})', () => {
      test('answers {"answer": ...} with the client\'s result', T, async () => {
        const yes = await client(() => true);
        assert.deepEqual(await askFromRest(yes.id), { status: 200, body: { answer: true } });
        assert.deepEqual(yes.questions, [REST_QUESTION]);
        const no = await client(async () => {
          await sleep(20);
          return false;
        });
        assert.deepEqual(await askFromRest(no.id), { status: 200, body: { answer: false } });
        assert.deepEqual(no.questions, [REST_QUESTION]);
        await assertStillWorks(yes.connection);
      });

      test('errors from the client reach the REST caller', T, async () => {
        const throwing = await client(() => {
          throw new Error('handler broke');
        });
        assert.deepEqual(await askFromRest(throwing.id), { status: 200, body: { error: 'Error: handler broke' } });
        const silent = await client(null);
        assert.deepEqual(await askFromRest(silent.id), {
          status: 200,
          body: { error: "Client didn't provide a result." },
        });
        await assertStillWorks(silent.connection);
      });

      test('an unknown connection id', T, async () => {
        assert.deepEqual(await askFromRest('no-such-connection'), {
          status: 200,
          body: { error: "Connection 'no-such-connection' does not exist." },
        });
      });

      test('a client that disconnects while the server awaits its answer', T, async () => {
        const { connection, questions, id } = await client(() => new Promise(() => {}));
        const pending = askFromRest(id);
        await waitFor(() => questions.length === 1, 5_000, 'the server to ask the client');
        await connection.stop();
        assert.deepEqual(await waitFor(pending, 5_000, 'the REST answer after the disconnect'), {
          status: 200,
          body: { error: `Connection '${id}' disconnected.` },
        });
      });
    });
  });
}
