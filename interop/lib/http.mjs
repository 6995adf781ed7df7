// The connection endpoint spoken by hand over plain HTTP (`fetch`): negotiate, long polls,
// Server-Sent Events streams, and the exact status codes and texts ASP.NET Core answers with.
// Shared by the transport tests; every request still open is aborted by `abortOpenRequests`.
import assert from 'node:assert/strict';
import { waitFor } from './server.mjs';
import { JSON_HANDSHAKE, RS } from './raw.mjs';

export const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT';
/** The connection endpoint's plain-text answers, as ASP.NET Core words them. */
export const TEXTS = {
  idRequired: 'Connection ID required',
  unknownId: 'No Connection with that ID',
  notSupported: (transport) => `${transport} transport not supported by this end point type`,
  cannotChange: 'Cannot change transports mid-connection',
  postToWebSocket: 'POST requests are not allowed for WebSocket connections.',
  cannotDelete: 'Cannot terminate this connection using the DELETE endpoint.',
};
export const sseHeaders = { Accept: 'text/event-stream' };

export const invocation = (invocationId, target, ...args) => ({ type: 1, invocationId, target, arguments: args });
export const completion = (invocationId, result) => ({ type: 3, invocationId, result });

/** Asserts status and exact plain-text body of a response. */
export function assertText(res, status, text, what) {
  assert.deepEqual({ status: res.status, body: res.body }, { status, body: text }, what);
}

/** Splits a JSON poll body into its messages; every record must be complete. */
export function records(body) {
  assert.ok(body.endsWith(RS), `a poll body holds whole messages only: ${JSON.stringify(body)}`);
  return body.slice(0, -1).split(RS).map((r) => JSON.parse(r));
}

/** Requests still open (SSE streams, pending polls), aborted after each test. */
const openRequests = new Set();

/** Aborts every request still open; for `afterEach`. */
export function abortOpenRequests() {
  for (const controller of openRequests) controller.abort();
  openRequests.clear();
}

/**
 * The helpers that address the server: `baseUrl()` gives its URL once it has started (the
 * tests start it in `before`).
 */
export function plainHttp(baseUrl) {
  /** POST {path}/negotiate?negotiateVersion=1 and the parsed body. */
  async function negotiate(path = '/hubs/test') {
    const res = await fetch(`${baseUrl()}${path}/negotiate?negotiateVersion=1`, { method: 'POST' });
    assert.equal(res.status, 200, `negotiate on ${path}`);
    return res.json();
  }

  /** The URL of the connection endpoint, with ?id= when a token is given. */
  function endpoint(path, token) {
    return `${baseUrl()}${path}${token === undefined ? '' : `?id=${encodeURIComponent(token)}`}`;
  }

  /** The same endpoint as a WebSocket URL. */
  function wsEndpoint(path, token) {
    return endpoint(path, token).replace(/^http/, 'ws');
  }

  /**
   * One HTTP request; resolves with { status, body (text), bytes (Buffer),
   * headers } once the whole response arrived.
   */
  async function request(url, init = {}) {
    const controller = new AbortController();
    openRequests.add(controller);
    try {
      const res = await fetch(url, { ...init, signal: controller.signal });
      const bytes = Buffer.from(await res.arrayBuffer());
      return { status: res.status, body: bytes.toString('utf8'), bytes, headers: res.headers };
    } finally {
      openRequests.delete(controller);
    }
  }

  /**
   * A Server-Sent Events response read incrementally: `text` grows as the body
   * arrives, `ended` is set once the server closes the stream.
   */
  async function openSse(url) {
    const controller = new AbortController();
    openRequests.add(controller);
    const res = await fetch(url, { headers: sseHeaders, signal: controller.signal });
    const stream = { status: res.status, headers: res.headers, text: '', ended: false, error: null };
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    stream.done = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          stream.text += decoder.decode(value, { stream: true });
        }
      } catch (err) {
        stream.error = err;
      } finally {
        stream.ended = true;
        openRequests.delete(controller);
      }
    })();
    /** Waits until the text received so far satisfies predicate(text). */
    stream.waitForText = (predicate, what, timeoutMs = 5_000) =>
      waitFor(
        () => predicate(stream.text),
        timeoutMs,
        () => `${what}; the stream so far: ${JSON.stringify(stream.text.slice(0, 500))}`,
      );
    stream.close = () => controller.abort();
    return stream;
  }

  /** Negotiates on `path` and makes the first poll; returns the connection's URL and token. */
  async function startLongPolling(path = '/hubs/test') {
    const { connectionToken } = await negotiate(path);
    const url = endpoint(path, connectionToken);
    const first = await request(url);
    assert.equal(first.status, 200, `the first poll answers 200 at once, got ${first.status} ${first.body}`);
    return { url, token: connectionToken, first };
  }

  /** Long polling with the JSON handshake done (and its `{}` reply polled). */
  async function longPollingJson(path = '/hubs/test') {
    const lp = await startLongPolling(path);
    assert.equal((await request(lp.url, { method: 'POST', body: JSON_HANDSHAKE })).status, 200);
    const reply = await request(lp.url);
    assert.deepEqual({ status: reply.status, body: reply.body }, { status: 200, body: `{}${RS}` });
    return lp;
  }

  /** Polls until `count` messages (pings skipped) arrived; returns them. */
  async function pollMessages(url, count, timeoutMs = 10_000) {
    const messages = [];
    const deadline = Date.now() + timeoutMs;
    while (messages.length < count) {
      assert.ok(Date.now() < deadline, `timed out polling for ${count} messages, got ${JSON.stringify(messages)}`);
      const res = await request(url);
      assert.equal(res.status, 200, `poll answered ${res.status} ${res.body}`);
      if (res.body === '') continue; // the poll timeout passed without data
      messages.push(...records(res.body).filter((m) => m.type !== 6));
    }
    return messages;
  }

  return { negotiate, endpoint, wsEndpoint, request, openSse, startLongPolling, longPollingJson, pollMessages };
}
