// Tools for the attack tests (test/attacks*.test.mjs) and the measurement script
// (attacks/measure.mjs): raw TCP WebSocket clients that control every byte and honour
// TCP back-pressure, the server's resident memory, and a bystander that keeps
// round-tripping through the official client while an attack runs.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { connect, sleep, waitFor } from './server.mjs';

export const KiB = 1024;
export const MiB = 1024 * KiB;
const RS = 0x1e;

/** The resident set size of process `pid` in bytes (VmRSS from /proc/<pid>/status). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Samples a process's RSS every `everyMs` and keeps the baseline and the peak. */
export class RssSampler {
  constructor(pid, everyMs = 50) {
    this.pid = pid;
    this.baseline = rssBytes(pid);
    this.peak = this.baseline;
    this.last = this.baseline;
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref(); // a test that throws before stop() must not keep node alive
  }

  sample() {
    try {
      this.last = rssBytes(this.pid);
      if (this.last > this.peak) this.peak = this.last;
    } catch {
      // The process is gone; keep what was seen.
    }
    return this.last;
  }

  /** Peak growth over the baseline so far, in bytes. */
  get growth() {
    return this.peak - this.baseline;
  }

  stop() {
    clearInterval(this.timer);
    this.sample();
    return { baselineMiB: mib(this.baseline), peakMiB: mib(this.peak), growthMiB: mib(this.growth), lastMiB: mib(this.last) };
  }
}

export const mib = (bytes) => Math.round((bytes / MiB) * 10) / 10;

/**
 * A client-to-server WebSocket frame header (FIN set) for `length` payload bytes with
 * an all-zero mask: masking with zeros leaves the payload as it is, so large payloads
 * need no copying, and the server still sees a masked frame as RFC 6455 requires.
 */
export function frameHeader(opcode, length) {
  let header;
  if (length < 126) {
    header = Buffer.alloc(2);
    header[1] = 0x80 | length;
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header[0] = 0x80 | opcode;
  return Buffer.concat([header, Buffer.alloc(4)]); // the zero mask
}

/** A whole masked client frame. */
export function clientFrame(opcode, payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  return Buffer.concat([frameHeader(opcode, body.length), body]);
}

/** A JSON hub message as one text frame (the record separator included). */
export function jsonFrame(message) {
  return clientFrame(0x1, `${JSON.stringify(message)}\x1e`);
}

/** Open raw sockets, destroyed by destroyAllRaw() (for afterEach). */
const openSockets = new Set();

export function destroyAllRaw() {
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
}

/** Resolves once `socket` connected; rejects on error. */
export function connectTcp(port, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    openSockets.add(socket);
    socket.once('close', () => openSockets.delete(socket));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to port ${port} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * A WebSocket client on a plain TCP socket: it sends exactly the bytes it is told to,
 * parses the server's frames, and records how and when the connection ended.
 * `end` resolves with { closeFrame: {code, reason} | null, error, atMs } once the TCP
 * connection is closed (by either side), atMs counted from `startedAt`.
 */
export class RawSocketHub {
  constructor(socket) {
    this.socket = socket;
    this.startedAt = Date.now();
    this.pending = Buffer.alloc(0);
    this.upgraded = false;
    this.upgradeResponse = null;
    /** Text of every data frame received (the records of the hub protocol, joined). */
    this.text = '';
    this.closeFrame = null;
    this.closeFrameAtMs = null;
    this.bytesReceived = 0;
    /** When false, received bytes are counted but not parsed (cheap for floods). */
    this.parse = true;
    this.error = null;
    this.endInfo = null;
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => {
      this.error = err;
    });
    this.end = new Promise((resolve) => {
      socket.once('close', () => {
        this.endInfo = {
          closeFrame: this.closeFrame,
          closeFrameAtMs: this.closeFrameAtMs,
          error: this.error?.code ?? null,
          atMs: Date.now() - this.startedAt,
        };
        resolve(this.endInfo);
      });
    });
  }

  get closed() {
    return this.endInfo !== null;
  }

  /** Opens TCP, upgrades `path` (skipNegotiation style: no id) and does the JSON handshake. */
  static async open(port, path, { handshake = true, timeoutMs = 10_000 } = {}) {
    const hub = new RawSocketHub(await connectTcp(port, timeoutMs));
    await hub.upgrade(port, path, timeoutMs);
    if (handshake) await hub.handshake(timeoutMs);
    return hub;
  }

  async upgrade(port, path, timeoutMs = 10_000) {
    const key = Buffer.from(String(Math.random())).toString('base64');
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await waitFor(() => this.upgradeResponse !== null || this.closed, timeoutMs, `the upgrade response on ${path}`);
    if (!/^HTTP\/1\.1 101/.test(this.upgradeResponse ?? '')) {
      throw new Error(`upgrade of ${path} failed: ${JSON.stringify(this.upgradeResponse)}`);
    }
  }

  async handshake(timeoutMs = 10_000) {
    this.socket.write(jsonFrame({ protocol: 'json', version: 1 }));
    await waitFor(() => this.text.includes('\x1e') || this.closed, timeoutMs, 'the handshake reply');
    const reply = this.text.slice(0, this.text.indexOf('\x1e'));
    if (reply !== '{}') throw new Error(`handshake failed: ${JSON.stringify(this.text)}`);
    this.text = this.text.slice(reply.length + 1);
  }

  onData(chunk) {
    this.bytesReceived += chunk.length;
    if (this.upgraded && !this.parse) return;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.upgraded) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.upgradeResponse = this.pending.subarray(0, end).toString('latin1');
      this.pending = this.pending.subarray(end + 4);
      this.upgraded = true;
    }
    this.parseFrames();
  }

  parseFrames() {
    for (;;) {
      const p = this.pending;
      if (p.length < 2) return;
      const opcode = p[0] & 0x0f;
      let length = p[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (p.length < 4) return;
        length = p.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (p.length < 10) return;
        length = Number(p.readBigUInt64BE(2));
        offset = 10;
      }
      if (p[1] & 0x80) offset += 4; // servers do not mask, but do not trip over it
      if (p.length < offset + length) return;
      const payload = p.subarray(offset, offset + length);
      this.pending = p.subarray(offset + length);
      if (opcode === 0x8) {
        this.closeFrame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
          reason: payload.subarray(2).toString('utf8'),
        };
        this.closeFrameAtMs = Date.now() - this.startedAt;
      } else if (opcode === 0x1 || opcode === 0x0 || opcode === 0x2) {
        this.text += payload.toString('utf8');
      }
    }
  }

  /** Takes the complete JSON records received so far (pings included). */
  takeRecords() {
    const parts = this.text.split('\x1e');
    this.text = parts.pop();
    return parts.filter((p) => p.length > 0).map((p) => JSON.parse(p));
  }

  /**
   * Writes `data` and resolves true once the kernel took it, or false when the socket
   * closed or `deadline` (a Date.now() value) passed first — i.e. the peer stopped reading.
   */
  write(data, deadline = Infinity) {
    if (this.closed || this.socket.destroyed) return Promise.resolve(false);
    if (this.socket.write(data)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok) => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => finish(true);
      const onClose = () => finish(false);
      const timer = Number.isFinite(deadline) ? setTimeout(() => finish(false), Math.max(0, deadline - Date.now())) : null;
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  destroy() {
    this.socket.destroy();
  }
}

/**
 * An official-client connection that invokes `method` (Echo by default) every
 * `intervalMs` and records each round trip's latency and any failure, until stop().
 * With `burst` > 0, each round trip is preceded by that many fire-and-forget sends of
 * the same method (to make traffic, not to measure it). `connectOptions` go to connect()
 * (setup for handlers, transport, ...).
 */
export async function startBystander(url, { method = 'Echo', args = (i) => [`bystander-${i}`], intervalMs = 100, burst = 0, connectOptions = {} } = {}) {
  const state = { roundTrips: 0, failures: [], latencies: [], closedWith: undefined };
  const connection = await connect(url, { quiet: true, ...connectOptions });
  connection.onclose((err) => {
    state.closedWith = err ? err.message : null;
  });
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const started = Date.now();
      try {
        const callArgs = args(i);
        for (let b = 0; b < burst; b++) await connection.send(method, ...callArgs);
        const result = await connection.invoke(method, ...callArgs);
        if (method === 'Echo' && result !== callArgs[0]) throw new Error(`Echo answered ${JSON.stringify(result)}`);
        state.latencies.push(Date.now() - started);
        state.roundTrips++;
      } catch (err) {
        state.failures.push(err.message);
        if (state.failures.length > 20) break;
      }
      await sleep(intervalMs);
    }
  })();
  return {
    connection,
    state,
    /** Stops the loop; resolves with { roundTrips, failures, maxLatencyMs, p50LatencyMs, closedWith, connected }. */
    async stop() {
      running = false;
      await loop;
      const sorted = [...state.latencies].sort((a, b) => a - b);
      return {
        roundTrips: state.roundTrips,
        failures: state.failures,
        maxLatencyMs: sorted.at(-1) ?? null,
        p50LatencyMs: sorted[Math.floor(sorted.length / 2)] ?? null,
        closedWith: state.closedWith,
        connected: connection.state === 'Connected',
      };
    },
  };
}

/**
 * Counts, from now on, the server's output lines that match `pattern`, grouped by the
 * connection id in the line (`connection_id=...`, or '' without one). Counts every line,
 * unlike server.log(), which keeps only the last few MB.
 */
export function watchLogLines(server, pattern) {
  const byConnection = new Map();
  let total = 0;
  const tails = new Map();
  const onData = (stream) => (chunk) => {
    const text = (tails.get(stream) ?? '') + chunk.toString('utf8');
    const lines = text.split('\n');
    tails.set(stream, lines.pop());
    for (const line of lines) {
      if (!pattern.test(line)) continue;
      total++;
      // tracing prints fields as key=value, with ANSI colour codes around the key.
      const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
      const id = /connection_id=("?)([^\s"]+)\1/.exec(plain)?.[2] ?? '';
      byConnection.set(id, (byConnection.get(id) ?? 0) + 1);
    }
  };
  const listeners = [
    [server.process.stdout, onData('stdout')],
    [server.process.stderr, onData('stderr')],
  ];
  for (const [stream, listener] of listeners) stream.on('data', listener);
  return {
    get total() {
      return total;
    },
    byConnection,
    /** The most lines any one connection produced. */
    get maxPerConnection() {
      return Math.max(0, ...byConnection.values());
    },
    stop() {
      for (const [stream, listener] of listeners) stream.off('data', listener);
    },
  };
}

/** Counts equal values: { value: n }. */
export function count(values) {
  const counts = {};
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  return counts;
}

/** { min, p50, max } of numbers (null when empty). */
export function stats(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], p50: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) };
}
