// Long polling and Server-Sent Events of the `interop` example spoken by hand
// (plain `fetch`): polls and their bodies, event streams, both hub protocols,
// and the sweep that closes long-polling connections that stop polling while
// SSE streams, which never poll, live on.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '@msgpack/msgpack';
import { connect, QUIET_MS, sleep, useServer, waitFor } from '../lib/server.mjs';
import { binaryFrame, frame, JSON_HANDSHAKE, RS } from '../lib/raw.mjs';
import {
  abortOpenRequests,
  completion,
  EPOCH,
  invocation,
  plainHttp,
  records,
  TEXTS,
} from '../lib/http.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

afterEach(() => {
  abortOpenRequests();
});
const server = useServer('interop');

const { negotiate, endpoint, request, openSse, startLongPolling, longPollingJson, pollMessages } = plainHttp(
  () => server.url,
);

describe('long polling by hand', () => {
  test('first poll, handshake, invocations and their completions', T, async () => {
    const lp = await startLongPolling();
    assert.equal(lp.first.body, '', 'the first poll is empty');
    assert.equal(lp.first.headers.get('content-type'), 'application/octet-stream');

    const hs = await request(lp.url, { method: 'POST', body: JSON_HANDSHAKE });
    assert.deepEqual({ status: hs.status, body: hs.body }, { status: 200, body: '' });
    const reply = await request(lp.url);
    assert.deepEqual({ status: reply.status, body: reply.body }, { status: 200, body: `{}${RS}` });

    // Two invocations in one POST body; a fire-and-forget push to the caller too.
    const sent = await request(lp.url, {
      method: 'POST',
      body:
        frame(invocation('1', 'Echo', 'over polls ✓')) +
        frame(invocation('2', 'Add', 40, 2)) +
        frame({ type: 1, target: 'SendToCaller', arguments: ['pushed'] }),
    });
    assert.deepEqual({ status: sent.status, body: sent.body }, { status: 200, body: '' });
    const messages = await pollMessages(lp.url, 3);
    assert.deepEqual(
      messages.filter((m) => m.type === 3).sort((a, b) => a.invocationId.localeCompare(b.invocationId)),
      [completion('1', 'over polls ✓'), completion('2', 42)],
    );
    assert.deepEqual(
      messages.filter((m) => m.type === 1),
      [{ type: 1, target: 'Received', arguments: ['pushed'] }],
    );

    // Messages wait for the next poll when none is pending.
    await request(lp.url, { method: 'POST', body: frame(invocation('3', 'Echo', 'buffered')) });
    await sleep(QUIET_MS);
    assert.deepEqual(await pollMessages(lp.url, 1), [completion('3', 'buffered')]);
  });

  test('every poll response carries Cache-Control no-cache and Expires', T, async () => {
    const lp = await startLongPolling();
    const polls = { 'the first poll (200, empty)': lp.first };
    await request(lp.url, { method: 'POST', body: JSON_HANDSHAKE });
    polls['a poll with data (200)'] = await request(lp.url);
    const superseded = request(lp.url);
    await sleep(QUIET_MS);
    const newer = request(lp.url);
    polls['a superseded poll (204)'] = await superseded;
    await request(lp.url, { method: 'DELETE' });
    polls['the poll ended by DELETE (204)'] = await newer;
    const problems = [];
    for (const [what, res] of Object.entries(polls)) {
      const cacheControl = res.headers.get('cache-control') ?? '';
      const expires = res.headers.get('expires');
      if (!/no-cache/.test(cacheControl) || expires !== EPOCH) {
        problems.push(`${what}: HTTP ${res.status}, Cache-Control ${JSON.stringify(cacheControl)}, Expires ${JSON.stringify(expires)}`);
      }
    }
    assert.deepEqual(problems, [], `expected Cache-Control with no-cache and Expires: ${EPOCH} on every poll`);
  });

  test('a poll superseded by a newer poll answers 204; the newer one gets the data', T, async () => {
    const lp = await longPollingJson();
    const a = request(lp.url);
    await sleep(QUIET_MS);
    const b = request(lp.url);
    const first = await waitFor(a, 5_000, 'poll A to end once poll B arrived');
    assert.deepEqual({ status: first.status, body: first.body }, { status: 204, body: '' });
    await request(lp.url, { method: 'POST', body: frame(invocation('1', 'Echo', 'for B')) });
    const second = await waitFor(b, 5_000, 'poll B to deliver the completion');
    assert.equal(second.status, 200);
    assert.deepEqual(records(second.body), [completion('1', 'for B')]);
  });

  test('messagepack: the reply and the messages travel as binary poll bodies', T, async () => {
    const lp = await startLongPolling();
    await request(lp.url, { method: 'POST', body: frame({ protocol: 'messagepack', version: 1 }) });
    const reply = await request(lp.url);
    assert.equal(reply.status, 200);
    assert.ok(reply.bytes.equals(Buffer.from(`{}${RS}`)), `the handshake reply, got ${reply.bytes.toString('hex')}`);

    const body = Buffer.concat([
      binaryFrame(encode([1, {}, '1', 'Echo', ['binary ✓']])),
      binaryFrame(encode([1, {}, '2', 'EchoBytes', [Uint8Array.from([0, 1, 0x1e, 0xff])]])),
    ]);
    const sent = await request(lp.url, { method: 'POST', body });
    assert.equal(sent.status, 200);
    const decoded = [];
    const deadline = Date.now() + 10_000;
    while (decoded.length < 2 && Date.now() < deadline) {
      const res = await request(lp.url);
      assert.equal(res.status, 200);
      let rest = res.bytes;
      while (rest.length > 0) {
        let length = 0;
        let i = 0;
        let byte;
        do {
          byte = rest[i];
          length |= (byte & 0x7f) << (7 * i);
          i++;
        } while (byte & 0x80);
        assert.ok(rest.length >= i + length, 'a poll body holds whole messages only');
        const message = decode(rest.subarray(i, i + length));
        if (message[0] !== 6) decoded.push(message);
        rest = rest.subarray(i + length);
      }
    }
    decoded.sort((x, y) => x[2].localeCompare(y[2]));
    assert.deepEqual(decoded[0], [3, {}, '1', 3, 'binary ✓']);
    assert.deepEqual(decoded[1].slice(0, 4), [3, {}, '2', 3]);
    assert.deepEqual(Buffer.from(decoded[1][4]), Buffer.from([0, 1, 0x1e, 0xff]));
  });
});

describe('server-sent events by hand', () => {
  test('headers, the opening comment, and hub messages as events', T, async () => {
    const { connectionToken } = await negotiate();
    const url = endpoint('/hubs/test', connectionToken);
    const sse = await openSse(url);
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(sse.headers.get('cache-control') ?? '', /no-cache/);
    await sse.waitForText((text) => text.length >= 3, 'the opening comment');
    assert.ok(sse.text.startsWith(':\r\n'), `the stream starts with ":\\r\\n": ${JSON.stringify(sse.text)}`);

    const hs = await request(url, { method: 'POST', body: JSON_HANDSHAKE });
    assert.deepEqual({ status: hs.status, body: hs.body }, { status: 200, body: '' });
    await sse.waitForText((text) => text.length > 3, 'the handshake reply');
    assert.equal(sse.text, `:\r\ndata: {}${RS}\r\n\r\n`);

    await request(url, { method: 'POST', body: frame(invocation('1', 'Echo', 'line1\nline2')) });
    const event = `data: ${JSON.stringify(completion('1', 'line1\nline2'))}${RS}\r\n\r\n`;
    await sse.waitForText((text) => text.includes(event), 'the completion as one event');
    assert.equal(sse.text, `:\r\ndata: {}${RS}\r\n\r\n${event}`);
  });

  test('a messagepack handshake gets the Binary transfer format error, and the stream ends', T, async () => {
    const { connectionToken } = await negotiate();
    const url = endpoint('/hubs/test', connectionToken);
    const sse = await openSse(url);
    assert.equal(sse.status, 200);
    await request(url, { method: 'POST', body: frame({ protocol: 'messagepack', version: 1 }) });
    const error = {
      error:
        "Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format.",
    };
    const event = `data: ${JSON.stringify(error)}${RS}\r\n\r\n`;
    await sse.waitForText((text) => text.includes(event), 'the handshake error event');
    assert.equal(sse.text, `:\r\n${event}`);
    await waitFor(() => sse.ended, 5_000, 'the server to end the SSE response');
  });
});

describe('idle long polls are swept, SSE streams are not', () => {
  // /hubs/test-quick-sweep closes long-polling connections that stop polling for 2 s.
  const SWEEP_MS = 2_000;

  test('SSE connections outlive the sweep many times over while long-polling clients come and go', { timeout: 30_000 }, async () => {
    const url = `${server.url}/hubs/test-quick-sweep`;
    const closed = [];
    const sse = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const connection = await connect(url, { transport: 'ServerSentEvents' });
        connection.onclose((error) => closed.push(`SSE ${n}: ${error?.message ?? 'closed'}`));
        return connection;
      }),
    );
    // Long-polling clients connect, call and stop, so the sweep runs throughout.
    const started = performance.now();
    let cycles = 0;
    while (performance.now() - started < 4 * SWEEP_MS) {
      const polling = await connect(url, { transport: 'LongPolling' });
      assert.equal(await polling.invoke('Echo', `lp ${cycles}`), `lp ${cycles}`);
      await polling.stop();
      cycles += 1;
    }
    await sleep(SWEEP_MS);
    assert.deepEqual(closed, [], 'no SSE connection was closed');
    for (const [i, connection] of sse.entries()) {
      assert.equal(await connection.invoke('Echo', `still here ${i}`), `still here ${i}`);
    }
    assert.ok(cycles >= 3, `only ${cycles} long-polling clients came and went`);
  });

  test('a long-polling client that stops polling is closed after the disconnect timeout', { timeout: 30_000 }, async () => {
    const { connectionToken } = await negotiate('/hubs/test-quick-sweep');
    const pollUrl = endpoint('/hubs/test-quick-sweep', connectionToken);
    assert.equal((await request(pollUrl)).status, 200, 'the first poll answers at once');
    await request(pollUrl, { method: 'POST', body: JSON_HANDSHAKE });
    // No further poll: the sweep closes the connection, and its token is gone.
    await sleep(SWEEP_MS + 1_500);
    const poll = await request(pollUrl);
    assert.deepEqual({ status: poll.status, body: poll.body }, { status: 404, body: TEXTS.unknownId });
  });
});
