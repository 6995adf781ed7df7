// The attacks of issue 15, each as a function that runs it against a started example
// server and returns what the attacker, the server's memory and a bystander saw. The
// regression tests (test/attacks*.test.mjs) assert on these results; measure.mjs prints
// them for RELIABILITY.md (before/after).
import { MiB, RawSocketHub, RssSampler, count, frameHeader, jsonFrame, mib, startBystander, stats } from '../lib/attack.mjs';
import { connect, sleep, waitFor } from '../lib/server.mjs';

export { idleHeaders, oversizedNegotiateBody, slowBody } from './http.mjs';

const ms = (since) => Date.now() - since;

/**
 * Attack 1: `sockets` connections each announce a text frame of `announced` bytes
 * (81 FF 00 00 00 00 00 F0 00 00 for 15 MiB), send the mask and wait `headerWaitMs`
 * (a server that checks the header closes now, without any payload), then stream all
 * but the last payload byte as fast as the server reads it, for at most `streamMs`.
 * Sockets stay open; the server's RSS is sampled throughout.
 */
export async function oversizedFrames(server, { path = '/hubs/test', sockets = 20, announced = 15 * MiB, headerWaitMs = 500, streamMs = 15_000, tcpCloseWaitMs = 3000, bystanderPath = '/hubs/test' } = {}) {
  const bystander = await startBystander(`${server.url}${bystanderPath}`);
  const rss = new RssSampler(server.process.pid);
  const hubs = [];
  for (let i = 0; i < sockets; i++) hubs.push(await RawSocketHub.open(server.port, path));
  const headerSentAt = Date.now();
  for (const hub of hubs) {
    hub.headerSentAt = Date.now();
    hub.socket.write(frameHeader(0x1, announced));
  }
  await sleep(headerWaitMs);
  const closedOnHeader = hubs.filter((h) => h.closed || h.closeFrame).length;

  // Stream the payload (all but its last byte) on the sockets still open.
  const chunk = Buffer.alloc(MiB, 0x61);
  const deadline = Date.now() + streamMs;
  await Promise.all(
    hubs.map(async (hub) => {
      hub.payloadSent = 0;
      while (hub.payloadSent < announced - 1 && !hub.closed && !hub.closeFrame) {
        const piece = Math.min(chunk.length, announced - 1 - hub.payloadSent);
        if (!(await hub.write(chunk.subarray(0, piece), deadline))) break;
        hub.payloadSent += piece;
      }
    }),
  );
  // A server that refused the frame closes TCP too; give it a moment, and the server a
  // moment to settle on what it read.
  await waitFor(() => hubs.every((h) => h.closed), tcpCloseWaitMs).catch(() => {});
  await sleep(300);
  const memory = rss.stop();
  const result = {
    attack: 'oversized WebSocket frame',
    sockets,
    announcedBytes: announced,
    closedWithinHeaderWait: closedOnHeader,
    closeCodes: count(hubs.map((h) => h.closeFrame?.code ?? (h.closed ? 'tcp-close-without-close-frame' : 'open'))),
    closeFrameAfterHeaderMs: stats(hubs.filter((h) => h.closeFrame).map((h) => h.closeFrameAtMs - (h.headerSentAt - h.startedAt))),
    tcpClosed: hubs.filter((h) => h.closed).length,
    tcpCloseAfterHeaderMs: stats(hubs.filter((h) => h.closed).map((h) => h.endInfo.atMs - (h.headerSentAt - h.startedAt))),
    payloadMiBSentPerSocket: stats(hubs.map((h) => mib(h.payloadSent))),
    fullPayloadsSent: hubs.filter((h) => h.payloadSent >= announced - 1).length,
    elapsedMs: ms(headerSentAt),
    rss: memory,
    bystander: await bystander.stop(),
  };
  result.hubs = hubs;
  hubs.forEach((h) => h.destroy());
  return result;
}

/**
 * Attack 3: one connection invokes Delay(delayMs), which holds its invocation slot, then
 * pipelines `count` Echo invocations of `payloadBytes` each, writing as fast as the socket
 * accepts them, for at most `holdMs` (keep it below delayMs). Reports how much the
 * attacker could write and how much the server grew meanwhile.
 */
export async function queuedInvocations(server, { path = '/hubs/test', delayMs = 5000, holdMs = 4000, count: calls = 10_000, payloadBytes = 30_000, bystanderPath = '/hubs/test' } = {}) {
  const bystander = await startBystander(`${server.url}${bystanderPath}`);
  const rss = new RssSampler(server.process.pid);
  const hub = await RawSocketHub.open(server.port, path);
  hub.parse = false; // nothing but pings comes before Delay returns; skip parsing until then
  const started = Date.now();
  const deadline = started + holdMs;
  await hub.write(jsonFrame({ type: 1, invocationId: 'delay', target: 'Delay', arguments: [delayMs] }));
  // Every Echo shares the same big tail; only the small head with the id differs.
  const tail = Buffer.from(`${'x'.repeat(payloadBytes)}"]}\x1e`);
  let sent = 0;
  let bytesSent = 0;
  let stalled = false;
  for (; sent < calls; sent++) {
    const head = Buffer.from(`{"type":1,"invocationId":"${sent}","target":"Echo","arguments":["`);
    const frame = Buffer.concat([frameHeader(0x1, head.length + tail.length), head]);
    hub.socket.write(frame);
    if (!(await hub.write(tail, deadline))) {
      stalled = !hub.closed;
      break;
    }
    bytesSent += frame.length + tail.length;
  }
  const writeMs = ms(started);
  // Hold until the deadline so the server has read whatever it is going to read.
  await sleep(Math.max(0, deadline - Date.now()));
  const memory = rss.stop();
  // Once Delay returns, the slot is free and the server must read and answer again.
  const completed = new Set();
  hub.parse = true;
  await waitFor(
    () => {
      for (const message of hub.takeRecords()) if (message.type === 3) completed.add(message.invocationId);
      return (completed.has('delay') && completed.has('0')) || hub.closed;
    },
    Math.max(0, delayMs - holdMs) + 5000,
  ).catch(() => {});
  const result = {
    attack: 'invocations queued behind a busy slot',
    delayMs,
    invocationsAttempted: calls,
    invocationsWritten: sent,
    MiBWritten: mib(bytesSent),
    writesStalled: stalled,
    writeMs,
    attackerClosedByServer: hub.closed,
    afterDelay: { delayCompleted: completed.has('delay'), firstEchoCompleted: completed.has('0'), atMs: ms(started) },
    rss: memory,
    bystander: await bystander.stop(),
  };
  hub.destroy();
  return result;
}

/**
 * Attack 4: a bystander on the chat hub (whose on_connected broadcasts UserConnected to
 * everyone) reads promptly while `connections` raw connections are opened quickly
 * (`parallel` at a time; they read and discard everything, or with `attackersRead: false`
 * never read after the handshake). Reports whether the bystander
 * survived, and whether it still round-trips afterwards.
 */
export async function connectionStorm(server, { path = '/hubs/chat', connections = 2000, parallel = 100, attackersRead = true, settleMs = 30_000 } = {}) {
  const seen = { connected: 0, disconnected: 0 };
  let closedWith;
  const bystanderHub = await startBystander(`${server.url}${path}`, {
    method: 'SendMessage',
    args: (i) => [`ping-${i}`],
    intervalMs: 250,
    connectOptions: {
      setup: (c) => {
        c.on('UserConnected', () => seen.connected++);
        c.on('UserDisconnected', () => seen.disconnected++);
        c.on('ReceiveMessage', () => {});
        c.on('UserJoined', () => {});
        c.onclose((err) => {
          closedWith = err ? err.message : null;
        });
      },
    },
  });
  const rss = new RssSampler(server.process.pid);
  const started = Date.now();
  const attackers = [];
  let failedToOpen = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < connections) {
        next++;
        try {
          const hub = await RawSocketHub.open(server.port, path, { timeoutMs: 30_000 });
          hub.parse = false;
          if (!attackersRead) hub.socket.pause();
          attackers.push(hub);
        } catch {
          failedToOpen++;
        }
      }
    }),
  );
  const openedMs = ms(started);
  // Every open makes the bystander one UserConnected richer; wait for the whole storm.
  await waitFor(() => seen.connected >= attackers.length || closedWith !== undefined, settleMs).catch(() => {});
  const deliveredMs = ms(started);
  const attackersClosed = attackers.filter((h) => h.closed).length;
  // Then they all leave at once: a burst of UserDisconnected broadcasts, far faster than
  // the connects came.
  const leaving = Date.now();
  for (const hub of attackers) hub.destroy();
  await waitFor(() => seen.disconnected >= attackers.length || closedWith !== undefined, settleMs).catch(() => {});
  const departedMs = ms(leaving);
  await sleep(300);
  const memory = rss.stop();
  const bystander = await bystanderHub.stop();
  return {
    attack: 'connection storm',
    connections,
    parallel,
    attackersRead,
    opened: attackers.length,
    failedToOpen,
    openedMs,
    bystanderSawUserConnected: seen.connected,
    stormDeliveredMs: deliveredMs,
    attackersClosedDuringStorm: attackersClosed,
    bystanderSawUserDisconnected: seen.disconnected,
    departuresDeliveredMs: departedMs,
    bystanderClosedWith: closedWith ?? 'still open',
    rss: memory,
    bystander,
    attackers,
  };
}

/**
 * Attack 4, second half: a raw chat connection that stops reading (socket paused) while
 * a bystander broadcasts `messageBytes` messages through SendMessage. Runs until the
 * bystander sees UserDisconnected for the stalled connection or `maxMs` passes; then the
 * stalled socket is read to its end to see how it was closed.
 */
export async function stalledReader(server, { path = '/hubs/chat', messageBytes = 16 * 1024, burst = 9, intervalMs = 0, maxMs = 20_000, afterDropMs = 500, stalledCount = 1 } = {}) {
  const departed = new Set();
  const received = { count: 0 };
  const bystanderConnected = await startBystander(`${server.url}${path}`, {
    method: 'SendMessage',
    args: (i) => [`${i}:${'m'.repeat(messageBytes)}`],
    intervalMs,
    burst,
    connectOptions: {
      setup: (c) => {
        c.on('UserConnected', () => {});
        c.on('UserDisconnected', (user) => departed.add(user.connectionId));
        c.on('ReceiveMessage', () => received.count++);
      },
    },
  });
  const rss = new RssSampler(server.process.pid);
  const stalled = [];
  for (let i = 0; i < stalledCount; i++) {
    const hub = await RawSocketHub.open(server.port, path);
    // Its own UserConnected comes first and tells its connection id.
    await waitFor(() => hub.text.includes('UserConnected'), 5000, 'UserConnected on the stalled socket');
    hub.id = hub.takeRecords().find((m) => m.target === 'UserConnected').arguments[0].connectionId;
    hub.socket.pause();
    stalled.push(hub);
  }
  const started = Date.now();
  await waitFor(() => stalled.every((h) => departed.has(h.id)) || ms(started) > maxMs, maxMs + 1000);
  const droppedAfterMs = ms(started);
  // Broadcasts go on for a while after the drop: they must not pile up or log again.
  await sleep(afterDropMs);
  const broadcastsDuringStall = received.count;
  const memory = rss.stop();
  const bystander = await bystanderConnected.stop();
  // Read what the stalled sockets were sent, to the end, to see their close frames.
  for (const hub of stalled) {
    hub.parse = true;
    hub.text = '';
    hub.socket.resume();
  }
  await Promise.all(stalled.map((h) => waitFor(h.end, 10_000).catch(() => {})));
  return {
    attack: 'stalled reader',
    stalledCount,
    messageBytes,
    droppedByServer: stalled.filter((h) => departed.has(h.id)).length,
    droppedAfterMs: stalled.every((h) => departed.has(h.id)) ? droppedAfterMs : null,
    broadcastsDuringStall,
    closeCodes: count(stalled.map((h) => h.closeFrame?.code ?? (h.closed ? 'tcp-close-without-close-frame' : 'open'))),
    closeReasons: count(stalled.map((h) => h.closeFrame?.reason ?? null)),
    MiBReadAfterResume: stats(stalled.map((h) => mib(h.bytesReceived))),
    rss: memory,
    bystander,
    stalledIds: stalled.map((h) => h.id),
  };
}

/**
 * Attack 1, fragmented: a text message sent as `fragmentBytes` frames (the first without
 * FIN, then continuations), none too big on its own, for at most `maxFragments`. Reports
 * how many went out before the server closed, and how it closed.
 */
export async function fragmentedMessage(server, { path = '/hubs/test', fragmentBytes = 512 * 1024, maxFragments = 40 } = {}) {
  const hub = await RawSocketHub.open(server.port, path);
  const piece = Buffer.alloc(fragmentBytes, 0x61);
  let sent = 0;
  for (; sent < maxFragments && !hub.closed && !hub.closeFrame; sent++) {
    const header = frameHeader(sent === 0 ? 0x1 : 0x0, piece.length);
    header[0] &= 0x7f; // FIN clear: the message goes on
    if (!(await hub.write(Buffer.concat([header, piece]), Date.now() + 2000))) break;
    await sleep(20); // give the server the chance to refuse before the next one
  }
  await waitFor(hub.end, 3000).catch(() => {});
  hub.destroy();
  return { attack: 'fragmented oversized message', fragmentBytes, fragmentsSent: sent, closeFrame: hub.closeFrame, end: hub.endInfo };
}

/** Sends one text frame whose payload is not UTF-8 and reports how the server closed. */
export async function invalidUtf8(server, { path = '/hubs/test' } = {}) {
  const hub = await RawSocketHub.open(server.port, path);
  hub.socket.write(Buffer.concat([frameHeader(0x1, 4), Buffer.from([0xc3, 0x28, 0xff, 0x1e])]));
  const end = await waitFor(hub.end, 10_000, 'the server to close the socket').catch(() => null);
  hub.destroy();
  return { attack: 'invalid UTF-8 in a text frame', closeFrame: hub.closeFrame, end };
}

/**
 * Attack 4, slow variant: a raw chat connection stops reading; the bystander broadcasts
 * `fillBytes` quickly (more than the socket buffers take, less than the hard cap beyond
 * them), then only a small message every `trickleEveryMs`. The stalled connection's queue
 * then sits between the soft limit and the hard cap, so only the rule "its socket has not
 * drained for a while" can close it. Reports when that happened, counted from the end of
 * the fill.
 */
export async function trickleToStalledReader(server, { path = '/hubs/chat', fillBytes = 6.5 * MiB, messageBytes = 16 * 1024, trickleEveryMs = 100, maxMs = 20_000 } = {}) {
  const departed = new Set();
  const bystander = await startBystander(`${server.url}${path}`, {
    method: 'SendMessage',
    args: (i) => [`tick-${i}`],
    intervalMs: trickleEveryMs,
    connectOptions: {
      setup: (c) => {
        c.on('UserConnected', () => {});
        c.on('UserDisconnected', (user) => departed.add(user.connectionId));
        c.on('ReceiveMessage', () => {});
      },
    },
  });
  const rss = new RssSampler(server.process.pid);
  const hub = await RawSocketHub.open(server.port, path);
  await waitFor(() => hub.text.includes('UserConnected'), 5000, 'UserConnected on the stalled socket');
  hub.id = hub.takeRecords().find((m) => m.target === 'UserConnected').arguments[0].connectionId;
  hub.socket.pause();
  // The fill goes through a second official-client connection, so the bystander's own
  // round trips stay small.
  const filler = await connect(`${server.url}${path}`, {
    quiet: true,
    setup: (c) => ['UserConnected', 'UserDisconnected', 'ReceiveMessage'].forEach((m) => c.on(m, () => {})),
  });
  const big = 'f'.repeat(messageBytes);
  for (let sent = 0; sent < fillBytes; sent += messageBytes) await filler.send('SendMessage', big);
  await filler.invoke('SendMessage', 'fill done');
  const filledAt = Date.now();
  const droppedEarly = departed.has(hub.id);
  await waitFor(() => departed.has(hub.id), maxMs).catch(() => {});
  const droppedAfterFillMs = departed.has(hub.id) ? ms(filledAt) : null;
  const memory = rss.stop();
  const bystanderResult = await bystander.stop();
  await filler.stop();
  hub.parse = true;
  hub.text = '';
  hub.socket.resume();
  await waitFor(hub.end, 10_000).catch(() => {});
  return {
    attack: 'trickle to a stalled reader',
    fillMiB: mib(fillBytes),
    droppedDuringFill: droppedEarly,
    droppedAfterFillMs,
    closeFrame: hub.closeFrame,
    MiBReadAfterResume: mib(hub.bytesReceived),
    rss: memory,
    bystander: bystanderResult,
    stalledId: hub.id,
  };
}
