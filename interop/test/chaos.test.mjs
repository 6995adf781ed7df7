// Chaos: clients that vanish (kill -9 mid-stream and mid-upload, with stateful reconnect
// too), a network that drops every packet without closing (half-open TCP through a proxy that
// goes silent), and a stateful client that never acknowledges. Each test shows the server
// letting go of everything within its own timeouts: the hub's on_disconnected ran (live count
// back), the stream, upload or flood was dropped, the process's file descriptors are back to
// baseline, memory bounded.
// The endpoint /hubs/chaos of the interop server uses short timeouts
// (examples/src/chaos_hub.rs): pings every 0.5 s, client timeout 2 s, disconnect timeout 2 s,
// close and send timeouts 1 s, slow-client timeout 2 s.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { HttpTransportType, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { sleep, startServer, waitFor } from '../lib/server.mjs';
import { startBlackholeProxy } from '../lib/blackhole-proxy.mjs';

const CLIENT_TIMEOUT_MS = 2_000;
const DISCONNECT_TIMEOUT_MS = 2_000;
const CLOSE_TIMEOUT_MS = 1_000;
const SLOW_CLIENT_TIMEOUT_MS = 2_000;
/** Scheduling slack on a busy 2-core machine. */
const SLACK_MS = 2_000;
const T = { timeout: 60_000 };
const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'chaos-client.mjs');

let server;
const cleanups = [];
before(async () => {
  server = await startServer('interop');
});
after(async () => {
  await server?.stop();
});
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((f) => f()));
});

/** GET over a fresh connection that closes, so the check itself holds no descriptor. */
function stats() {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${server.url}/api/chaos/stats`,
      { agent: false, headers: { Connection: 'close' } },
      (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(JSON.parse(body)));
      },
    );
    request.on('error', reject);
  });
}

const fds = () => readdirSync(`/proc/${server.process.pid}/fd`).length;
const rssMiB = () => {
  const line = readFileSync(`/proc/${server.process.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return Number(line[1]) / 1024;
};

/** What the server holds before a test: counters and descriptors. (An earlier test that
 * leaked leaves its counts here, so one failure does not fail the tests after it.) */
async function baseline() {
  await sleep(200);
  return { ...(await stats()), fds: fds(), rss: rssMiB() };
}

/** Starts watching, every 50 ms, for the server to hold no more than at `base`; resolves
 * with the time it first did (null after `limitMs` + 5 s). Started at the moment of the
 * chaos, so the test's own checks in between do not count against the server. */
function watchFreed(base, limitMs) {
  const deadline = Date.now() + limitMs + 5_000;
  return (async () => {
    while (Date.now() < deadline) {
      const s = await stats();
      if (['live', 'streams', 'uploads', 'floods'].every((k) => s[k] === base[k])) return Date.now();
      await sleep(50);
    }
    return null;
  })();
}

/** Awaits `watch`, then the descriptors back at baseline; returns the ms the server held on. */
async function freed(watch, since, base, limitMs, what) {
  const at = await watch;
  assert.ok(at !== null, `the server still holds ${what} ${limitMs + 5_000} ms later: ${JSON.stringify(await stats())}`);
  const heldFor = at - since;
  await waitFor(() => fds() <= base.fds, 5_000, () => `descriptors back to ${base.fds} (now ${fds()})`);
  assert.ok(heldFor <= limitMs, `${what} was freed after ${heldFor} ms; the timeouts allow ${limitMs} ms`);
  return heldFor;
}

/** Starts chaos-client.mjs (with `extra` arguments) and resolves once it prints `ready`. */
async function startVictim(transport, mode, ...extra) {
  const child = spawn(process.execPath, [childScript, `${server.url}/hubs/chaos`, transport, mode, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => child.kill('SIGKILL'));
  await waitFor(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (chunk) => chunk.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`the chaos client exited early (${code})`)));
    }),
    15_000,
    `the ${mode} client to be ready`,
  );
  return child;
}

for (const transport of ['WebSockets', 'LongPolling']) {
  // A killed WebSocket client's socket is closed by its kernel, so the server sees the end at
  // once; a killed long-polling client just stops polling, so the disconnect timeout ends it.
  const limit = transport === 'WebSockets' ? SLACK_MS : DISCONNECT_TIMEOUT_MS + 1_000 + SLACK_MS;

  test(`kill -9 of a ${transport} client mid-stream: connection and stream freed`, T, async (t) => {
    const base = await baseline();
    const victim = await startVictim(transport, 'stream');
    const during = await stats();
    assert.equal(during.live, base.live + 1);
    assert.equal(during.streams, base.streams + 1, 'the stream is running');
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    const ms = await freed(watchFreed(base, limit), killedAt, base, limit, 'the killed streaming client');
    t.diagnostic(`freed ${ms} ms after kill -9; fds ${base.fds} before and after`);
  });

  test(`kill -9 of a ${transport} client mid-upload: connection and upload freed`, T, async (t) => {
    const base = await baseline();
    const victim = await startVictim(transport, 'upload');
    await waitFor(async () => (await stats()).uploadItems > 0, 5_000, 'upload items at the server');
    assert.equal((await stats()).uploads, base.uploads + 1, 'the upload is running');
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    const ms = await freed(watchFreed(base, limit), killedAt, base, limit, 'the killed uploading client');
    t.diagnostic(`freed ${ms} ms after kill -9; fds ${base.fds} before and after`);
  });
}

// With stateful reconnect the server keeps a connection whose socket ended for the client to
// come back on a new one. One that never does (killed here) is let go by whichever comes first:
// the disconnect timeout, or the hub's client timeout, as the official client pings. (A client
// that never pings, left only to the disconnect timeout, is in hubs/tests/websocket_conformance.)
test('kill -9 of a stateful client mid-stream: freed though the server waits for it to come back', T, async (t) => {
  const base = await baseline();
  const victim = await startVictim('WebSockets', 'stream', 'stateful');
  assert.equal((await stats()).streams, base.streams + 1, 'the stream is running');
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  const limit = Math.max(DISCONNECT_TIMEOUT_MS, CLIENT_TIMEOUT_MS) + CLOSE_TIMEOUT_MS + SLACK_MS;
  const ms = await freed(watchFreed(base, limit), killedAt, base, limit, 'the killed stateful client');
  t.diagnostic(`freed ${ms} ms after kill -9; fds ${base.fds} before and after`);
});

// DELETE used to cancel the waiting poll before it could mark the connection idle, leaving the
// token registered (fixed in cdf6fbe); ASP.NET Core forgets such a connection at once.
test('a long-polling client that leaves with DELETE is forgotten within the disconnect timeout', T, async (t) => {
  const base = await baseline();
  const negotiated = await (await fetch(`${server.url}/hubs/chaos/negotiate?negotiateVersion=1`, { method: 'POST' })).json();
  const url = `${server.url}/hubs/chaos?id=${negotiated.connectionToken}`;
  assert.equal((await fetch(url)).status, 200, 'the first poll');
  assert.equal((await fetch(url, { method: 'POST', body: '{"protocol":"json","version":1}\x1e' })).status, 200);
  assert.equal((await fetch(url)).status, 200, 'the handshake answer');
  const pending = fetch(url).then((r) => r.status);
  await sleep(200);
  const limit = DISCONNECT_TIMEOUT_MS + 1_000 + SLACK_MS;
  const watch = watchFreed(base, limit);
  const deletedAt = Date.now();
  assert.equal((await fetch(url, { method: 'DELETE' })).status, 202);
  assert.equal(await pending, 204, 'the pending poll ends');
  const ms = await freed(watch, deletedAt, base, limit, 'the connection closed by DELETE');
  t.diagnostic(`on_disconnected ran ${ms} ms after DELETE`);
  await sleep(Math.max(0, deletedAt + limit - Date.now()));
  // A poll for a forgotten token is answered 404; one the server still holds, 204.
  assert.equal((await fetch(url)).status, 404, 'the token is forgotten');
});

test('half-open TCP mid-stream (every packet dropped, nothing closed): freed by the client timeout', T, async (t) => {
  const base = await baseline();
  const proxy = await startBlackholeProxy(server.port);
  cleanups.push(() => proxy.close());
  const connection = new HubConnectionBuilder()
    .withUrl(`${proxy.url}/hubs/chaos`, { transport: HttpTransportType.WebSockets, skipNegotiation: true })
    .configureLogging(LogLevel.None)
    .build();
  // The server times a client out only once it has pinged, as ASP.NET Core does.
  connection.keepAliveIntervalInMilliseconds = 300;
  connection.serverTimeoutInMilliseconds = 60_000;
  cleanups.push(() => connection.stop());
  await connection.start();
  let items = 0;
  connection.stream('Counter', 1_000_000, 10).subscribe({ next: () => items++, error() {}, complete() {} });
  await waitFor(() => items > 20, 5_000, 'stream items through the proxy');
  assert.equal((await stats()).streams, base.streams + 1);
  const frozenAt = Date.now();
  assert.equal(proxy.freeze(), 2, 'both halves of the one connection frozen');
  const limit = CLIENT_TIMEOUT_MS + CLOSE_TIMEOUT_MS + SLACK_MS;
  const ms = await freed(watchFreed(base, limit), frozenAt, base, limit, 'the half-open client');
  t.diagnostic(`freed ${ms} ms after the network went silent; fds ${base.fds} before and after`);
});

/** A raw stateful-reconnect client: negotiates it, handshakes version 2, never sends Ack. */
async function statefulNoAckClient() {
  const negotiated = await (
    await fetch(`${server.url}/hubs/chaos/negotiate?negotiateVersion=1&useStatefulReconnect=true`, { method: 'POST' })
  ).json();
  assert.equal(negotiated.useStatefulReconnect, true);
  const ws = new WebSocket(`${server.wsUrl}/hubs/chaos?id=${negotiated.connectionToken}`);
  cleanups.push(async () => ws.terminate());
  const records = [];
  ws.on('message', (data) => records.push(...data.toString().split('\x1e').filter(Boolean)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send('{"protocol":"json","version":2}\x1e');
  await waitFor(() => records.length > 0, 5_000, 'the handshake answer');
  assert.equal(records[0], '{}');
  return { ws, records };
}

/** Watches the server's RSS for `ms`; returns the peak in MiB. */
async function peakRss(ms) {
  let peak = 0;
  for (const until = Date.now() + ms; Date.now() < until; ) {
    peak = Math.max(peak, rssMiB());
    await sleep(100);
  }
  return peak;
}

/** A bystander on the same hub is answered at once: the server is not hung. */
async function bystanderServed() {
  const bystander = new HubConnectionBuilder()
    .withUrl(`${server.url}/hubs/chaos`, { transport: HttpTransportType.WebSockets })
    .configureLogging(LogLevel.None)
    .build();
  await bystander.start();
  const asked = Date.now();
  assert.equal(await bystander.invoke('Echo', 'still here'), 'still here');
  const ms = Date.now() - asked;
  await bystander.stop();
  assert.ok(ms < 1_000, `a bystander is answered promptly (${ms} ms)`);
}

test('stateful client that acks nothing: the replay buffer bounds what is sent unacked, then it is dropped as slow and freed', T, async (t) => {
  const base = await baseline();
  const { ws, records } = await statefulNoAckClient();
  // 200 messages of 1 KB: more than the 16 KiB replay buffer, less than the send buffer cap.
  ws.send('{"type":1,"invocationId":"1","target":"Flood","arguments":[200,1000]}\x1e');
  const ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":6}\x1e'), 300);
  cleanups.push(async () => clearInterval(ping));
  const floodAt = Date.now();
  const limit = SLOW_CLIENT_TIMEOUT_MS + SLACK_MS;
  const watch = watchFreed(base, limit);
  await waitFor(() => records.some((r) => r.includes('"Flooded"')), 5_000, 'the first flooded message');
  await sleep(1_000);
  const unacked = records.filter((r) => r.includes('"Flooded"')).length;
  assert.ok(unacked * 1_000 <= 16 * 1024, `no more than the replay buffer went out unacked (${unacked} messages)`);
  assert.equal((await stats()).live, base.live + 1, 'the pinging client is still connected, waiting');
  await bystanderServed();
  const ms = await freed(watch, floodAt, base, limit, 'the stateful client that acks nothing');
  t.diagnostic(`${unacked} messages (~${unacked} KB) sent unacked, then nothing; freed ${ms} ms after the flood began; fds ${base.fds} before and after`);
});

test('stateful client that acks nothing and then goes quiet: its socket is closed with 1011 when it is dropped as slow', T, async (t) => {
  const base = await baseline();
  const { ws, records } = await statefulNoAckClient();
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.send('{"type":1,"invocationId":"1","target":"Flood","arguments":[200,1000]}\x1e');
  const floodAt = Date.now();
  await waitFor(() => records.some((r) => r.includes('"Flooded"')), 5_000, 'the first flooded message');
  // Nothing more comes from the client, so only the server's own abort can end this socket.
  const limit = SLOW_CLIENT_TIMEOUT_MS + SLACK_MS;
  const close = await Promise.race([closed, sleep(limit + 5_000).then(() => null)]);
  assert.ok(close, `the socket was closed within ${limit + 5_000} ms`);
  assert.deepEqual(close, { code: 1011, reason: 'connection aborted' });
  const ms = await freed(watchFreed(base, limit), floodAt, base, limit, 'the quiet stateful client');
  // The Close and the end of TCP reach the client as the connection is dropped (about 2.5 s
  // here); the ws library reports 'close' about 1.5 s after that.
  t.diagnostic(`ws reported close ${close.code} ${Date.now() - floodAt} ms after the flood began; freed after ${ms} ms`);
});

test('stateful client that acks nothing under a 100 MB flood: memory stays bounded, the server stays responsive, everything freed', T, async (t) => {
  const base = await baseline();
  const { ws } = await statefulNoAckClient();
  ws.send('{"type":1,"invocationId":"1","target":"Flood","arguments":[100000,1000]}\x1e');
  const ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":6}\x1e'), 300);
  cleanups.push(async () => clearInterval(ping));
  const floodAt = Date.now();
  const limit = SLOW_CLIENT_TIMEOUT_MS + SLACK_MS;
  const watch = watchFreed(base, limit);
  const peak = await peakRss(2_000);
  await bystanderServed();
  const ms = await freed(watch, floodAt, base, limit, 'the flooded stateful client');
  // The hub method checks `ctx.is_cancelled()` between sends: it sees the drop at once (as
  // ASP.NET Core's ConnectionAborted) rather than serializing the rest of the 100 MB.
  const sent = (await stats()).flooded - base.flooded;
  t.diagnostic(`RSS peak ${peak.toFixed(1)} MiB (baseline ${base.rss.toFixed(1)}); ${sent} of 100000 messages made before the flood stopped; freed ${ms} ms after the flood began; fds ${base.fds} before and after`);
  assert.ok(peak - base.rss < 32, `memory bounded (grew ${(peak - base.rss).toFixed(1)} MiB for 100 MB sent)`);
  assert.ok(sent < 10_000, `the flood stopped when its connection was dropped (${sent} of 100000 messages made)`);
});
