// The attacks of issue 15 on the HTTP layer, before any hub: headers that never end, a
// negotiate body larger than allowed, a body that trickles. Each runs against a started
// example server and returns what it saw; scenarios.mjs re-exports them with the others.
import { connectTcp, count, RssSampler, startBystander, stats } from '../lib/attack.mjs';
import { waitFor } from '../lib/server.mjs';

const ms = (since) => Date.now() - since;

/**
 * Attack 2: `silent` sockets connect and send nothing; `slowloris` sockets send
 * `GET / HTTP/1.1` and then one more header line every `lineEveryMs`. Watches for
 * `observeMs` when each socket is closed by the server (and what it answered).
 */
export async function idleHeaders(server, { silent = 10, slowloris = 5, lineEveryMs = 1000, observeMs = 5000, bystanderPath = '/hubs/test' } = {}) {
  const bystander = await startBystander(`${server.url}${bystanderPath}`);
  const started = Date.now();
  const sockets = [];
  for (let i = 0; i < silent + slowloris; i++) {
    const socket = await connectTcp(server.port);
    const entry = { kind: i < silent ? 'silent' : 'slowloris', connectedAt: Date.now(), closedAfterMs: null, answer: '', linesSent: 0, socket };
    socket.on('data', (d) => {
      entry.answer += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      entry.closedAfterMs = Date.now() - entry.connectedAt;
    });
    if (entry.kind === 'slowloris') {
      socket.write('GET / HTTP/1.1\r\n');
      entry.timer = setInterval(() => {
        if (socket.destroyed) return;
        entry.linesSent++;
        socket.write(`X-Slow-${entry.linesSent}: still-coming\r\n`);
      }, lineEveryMs);
      entry.timer.unref();
    }
    sockets.push(entry);
  }
  await waitFor(() => sockets.every((s) => s.closedAfterMs !== null) || ms(started) > observeMs, observeMs + 1000);
  for (const entry of sockets) {
    clearInterval(entry.timer);
    entry.socket.destroy();
  }
  const summarize = (kind) => {
    const group = sockets.filter((s) => s.kind === kind);
    const closed = group.filter((s) => s.closedAfterMs !== null);
    return {
      sockets: group.length,
      closedByServer: closed.length,
      closedAfterMs: stats(closed.map((s) => s.closedAfterMs)),
      answers: count(group.map((s) => s.answer.split('\r\n')[0] || '(nothing)')),
      headerLinesSent: stats(group.map((s) => s.linesSent)),
    };
  };
  return {
    attack: 'no request-header timeout',
    observedMs: ms(started),
    silent: summarize('silent'),
    slowloris: summarize('slowloris'),
    bystander: await bystander.stop(),
    entries: sockets,
  };
}

/**
 * POSTs a `bodyBytes` body (Content-Length) to negotiate in 64 KiB pieces as fast as the
 * server reads them; reports the status line, how much of the body went out before the
 * answer came (or the socket closed) — socket buffers take several MB of that without
 * the server reading it — and the server's RSS growth meanwhile. With `sendBytes` below
 * `bodyBytes` it sends only that much and waits: no write is then in flight when the server
 * answers and resets the connection, so the answer cannot be lost to a write error.
 */
export async function oversizedNegotiateBody(server, { path = '/hubs/test/negotiate?negotiateVersion=1', bodyBytes = 10_000_000, sendBytes = bodyBytes, maxMs = 10_000 } = {}) {
  const rss = new RssSampler(server.process.pid, 10);
  const socket = await connectTcp(server.port);
  let answer = '';
  let error = null;
  let closed = false;
  socket.on('data', (d) => {
    answer += d.toString('latin1');
  });
  socket.on('error', (err) => {
    error = err.code;
  });
  socket.once('close', () => {
    closed = true;
  });
  const started = Date.now();
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: text/plain\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
  const piece = Buffer.alloc(64 * 1024, 0x7b);
  let sent = 0;
  let sentWhenAnswered = null;
  const deadline = started + maxMs;
  while (sent < sendBytes && !closed && Date.now() < deadline) {
    if (answer && sentWhenAnswered === null) sentWhenAnswered = sent;
    if (answer.includes('\r\n\r\n')) break; // answered: how much went out is the measure

    const n = Math.min(piece.length, sendBytes - sent);
    const ok = socket.write(piece.subarray(0, n));
    sent += n;
    // Yield so that an early answer is read before a write error tears the socket down.
    await new Promise((resolve) => setImmediate(resolve));
    if (!ok) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        const done = () => {
          clearTimeout(timer);
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
      });
    }
  }
  await waitFor(() => answer.includes('\r\n\r\n') || closed, 5000).catch(() => {});
  if (sentWhenAnswered === null && answer) sentWhenAnswered = sent;
  socket.destroy();
  return {
    attack: 'oversized negotiate body',
    bodyBytes,
    statusLine: answer.split('\r\n')[0] || null,
    bytesSentBeforeAnswer: sentWhenAnswered,
    bytesSentTotal: sent,
    socketError: error,
    elapsedMs: ms(started),
    rss: rss.stop(),
  };
}

/**
 * Slow body: a POST to negotiate whose headers announce `contentLength` bytes, sent one
 * byte every `byteEveryMs`. Reports when and how the server ended it.
 */
export async function slowBody(server, { path = '/hubs/test/negotiate?negotiateVersion=1', contentLength = 100_000, byteEveryMs = 1000, observeMs = 10_000 } = {}) {
  const socket = await connectTcp(server.port);
  const started = Date.now();
  const state = { answer: '', closedAfterMs: null, bytesSent: 0 };
  socket.on('data', (d) => {
    state.answer += d.toString('latin1');
  });
  socket.on('error', () => {});
  socket.once('close', () => {
    state.closedAfterMs = ms(started);
  });
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Length: ${contentLength}\r\n\r\n`);
  const timer = setInterval(() => {
    if (socket.destroyed || state.answer) return;
    socket.write('{');
    state.bytesSent++;
  }, byteEveryMs);
  timer.unref();
  await waitFor(() => state.closedAfterMs !== null || state.answer.includes('\r\n\r\n'), observeMs).catch(() => {});
  const answeredAfterMs = state.answer ? ms(started) : null;
  clearInterval(timer);
  socket.destroy();
  return {
    attack: 'slow request body',
    statusLine: state.answer.split('\r\n')[0] || null,
    answeredAfterMs,
    closedAfterMs: state.closedAfterMs,
    bodyBytesSent: state.bytesSent,
    observedMs: observeMs,
  };
}
