// Helpers for the streaming and client-result tests: consuming a server-to-client
// stream from the official client, and a hub protocol that records every hub
// message it parses or writes (to see what really crossed the wire).
import assert from 'node:assert/strict';
import { connect, hubProtocol, useServer, waitFor } from './server.mjs';

/**
 * Subscribes to an IStreamResult (what `connection.stream(...)` returns).
 * Returns { items, done, subscription }: `items` fills as StreamItems arrive,
 * `done` resolves with the items on completion and rejects with the error
 * (carrying `.items`) when the stream fails. `done` is marked handled, so a
 * test that never awaits it (e.g. after dispose) does not trip
 * unhandled-rejection detection.
 */
export function runStream(streamResult) {
  const items = [];
  let subscription;
  const done = new Promise((resolve, reject) => {
    subscription = streamResult.subscribe({
      next: (item) => items.push(item),
      complete: () => resolve(items),
      error: (err) => {
        if (err && typeof err === 'object') err.items = items;
        reject(err);
      },
    });
  });
  done.catch(() => {});
  return { items, done, subscription };
}

/** Waits until a running stream has delivered at least n items. */
export async function waitForItems(run, n, timeoutMs = 5_000) {
  await waitFor(
    () => run.items.length >= n,
    timeoutMs,
    () => `${n} stream item(s); got ${run.items.length}: ${JSON.stringify(run.items).slice(0, 300)}`,
  );
  return run.items;
}

/**
 * A hub protocol ('json' or 'messagepack') that records the hub messages the
 * client parsed (`received`) and wrote (`sent`), as the client's protocol
 * objects see them (MessageType numbers in `type`).
 */
export function spyProtocol(name) {
  const protocol = hubProtocol(name);
  const received = [];
  const sent = [];
  const parse = protocol.parseMessages.bind(protocol);
  const write = protocol.writeMessage.bind(protocol);
  protocol.parseMessages = (input, logger) => {
    const messages = parse(input, logger);
    received.push(...messages);
    return messages;
  };
  protocol.writeMessage = (message) => {
    sent.push(message);
    return write(message);
  };
  return {
    protocol,
    received,
    sent,
    /** The invocation id the client chose for its last (Stream)Invocation of `target`. */
    invocationIdOf(target) {
      const found = sent.filter((m) => (m.type === 1 || m.type === 4) && m.target === target).at(-1);
      if (!found) throw new Error(`the client sent no invocation of '${target}'`);
      return found.invocationId;
    },
    /** Received messages (StreamItem / Completion) for one invocation id. */
    receivedFor(invocationId) {
      return received.filter((m) => m.invocationId === invocationId);
    },
  };
}

/** The connection still answers a call (`Delay(0)` on the streaming example). */
export async function assertStillWorks(connection) {
  assert.equal(await connection.invoke('Delay', 0), 0, 'the connection keeps working');
}

/** `promise` (a call on `connection`) fails with `expectedMessage`, and the connection goes on. */
export async function assertInvokeError(connection, promise, expectedMessage) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`);
    assert.equal(err.message, expectedMessage);
    return true;
  });
  await assertStillWorks(connection);
}

/** Per-test limit of the streaming tests, so that a hung server fails the test instead of hanging the run. */
export const T = { timeout: 20_000 };

/** The `streaming` example's hubs: 4 invocation slots a client, and 1. */
export const PARALLEL = '/hubs/streaming';
export const SERIAL = '/hubs/streaming-serial';

/**
 * Starts the `streaming` example for the calling test file (see `useServer`): `server`, `hub(path)`
 * for a hub's URL, and `client(transport, protocol)`, a function that connects to a hub with them.
 */
export function useStreamingServer() {
  const server = useServer('streaming');
  const hub = (path = PARALLEL) => `${server.url}${path}`;
  const client =
    (transport, protocol) =>
    (path = PARALLEL, opts = {}) =>
      connect(hub(path), { transport, protocol, ...opts });
  return { server, hub, client };
}
