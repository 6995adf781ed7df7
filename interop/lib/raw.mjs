// Minimal hand-rolled SignalR clients over `ws` (JSON and MessagePack), for
// raw-protocol tests.
import { decode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { waitFor } from './server.mjs';

export const RS = '\x1e';

/** Frames one JSON hub message (object or pre-serialised string). */
export function frame(message) {
  return (typeof message === 'string' ? message : JSON.stringify(message)) + RS;
}

/** The handshake request of the JSON hub protocol, framed. */
export const JSON_HANDSHAKE = frame({ protocol: 'json', version: 1 });

/**
 * Opens a WebSocket and resolves once it is open. When the server refuses the
 * upgrade the promise rejects with an Error carrying `status` and `body`.
 */
export function openWebSocket(url, options = {}, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    let settled = false;
    const settle = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    const timer = setTimeout(() => {
      ws.on('error', () => {});
      ws.terminate();
      settle(reject, new Error(`WebSocket to ${url} neither opened nor was rejected within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      const finish = () => {
        const err = new Error(`WebSocket upgrade rejected with HTTP ${res.statusCode}: ${body}`);
        err.status = res.statusCode;
        err.body = body;
        err.headers = res.headers;
        ws.on('error', () => {});
        req.destroy();
        ws.terminate();
        settle(reject, err);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', finish);
      res.on('error', finish);
      // A response without Content-Length that keeps the socket open: take what came.
      setTimeout(finish, 3_000).unref();
    });
    ws.once('open', () => settle(resolve, ws));
    ws.on('error', (err) => settle(reject, err));
  });
}

/** Resolves with { status, body } of a rejected upgrade; fails if it opens. */
export async function expectUpgradeRejected(url, options) {
  let ws;
  try {
    ws = await openWebSocket(url, options);
  } catch (err) {
    if (err.status !== undefined) return { status: err.status, body: err.body };
    throw err;
  }
  ws.terminate();
  throw new Error(`expected the WebSocket upgrade to ${url} to be rejected, but it opened`);
}

/**
 * A raw hub connection: records every frame and splits the received byte
 * stream into RS-terminated records.
 */
const openHubs = new Set();

/** Terminates every RawHub that is still open (for afterEach). */
export function terminateAllRaw() {
  for (const hub of openHubs) hub.terminate();
  openHubs.clear();
}

export class RawHub {
  constructor(ws) {
    this.ws = ws;
    openHubs.add(this);
    this.frames = [];
    this.records = [];
    this.buffer = '';
    this.readIndex = 0;
    this.errors = [];
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        openHubs.delete(this);
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (err) => this.errors.push(err));
    ws.on('message', (data, isBinary) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data).toString('utf8');
      this.frames.push({ text, isBinary });
      this.buffer += text;
      let idx;
      while ((idx = this.buffer.indexOf(RS)) !== -1) {
        this.records.push(this.buffer.slice(0, idx));
        this.buffer = this.buffer.slice(idx + 1);
      }
    });
  }

  static async open(url, options) {
    return new RawHub(await openWebSocket(url, options));
  }

  /**
   * Negotiates on `${httpBase}${path}` (version 1 unless told otherwise) and
   * opens the WebSocket with the token. Returns the RawHub with `.negotiation`.
   */
  static async negotiateAndOpen(httpBase, path, { negotiateVersion = 1 } = {}) {
    const query = negotiateVersion === null ? '' : `?negotiateVersion=${negotiateVersion}`;
    const res = await fetch(`${httpBase}${path}/negotiate${query}`, { method: 'POST' });
    if (res.status !== 200) throw new Error(`negotiate failed: HTTP ${res.status} ${await res.text()}`);
    const negotiation = await res.json();
    const token = negotiation.connectionToken ?? negotiation.connectionId;
    const wsBase = httpBase.replace(/^http/, 'ws');
    const hub = await RawHub.open(`${wsBase}${path}?id=${encodeURIComponent(token)}`);
    hub.negotiation = negotiation;
    return hub;
  }

  send(text) {
    this.ws.send(text);
  }

  sendMessage(message) {
    this.ws.send(frame(message));
  }

  /** Sends the JSON handshake and asserts-by-throwing that the reply is {}. */
  async handshake(protocol = 'json', version = 1) {
    this.send(frame({ protocol, version }));
    const reply = await this.nextRecord();
    if (reply !== '{}') throw new Error(`handshake failed, server replied ${JSON.stringify(reply)}`);
  }

  /** The next raw record (without the RS). */
  async nextRecord(timeoutMs = 10_000) {
    await waitFor(
      () => this.records.length > this.readIndex || this.closeInfo !== null,
      timeoutMs,
      () => `a message from the server; received so far: ${JSON.stringify(this.records)}`,
    );
    if (this.records.length > this.readIndex) return this.records[this.readIndex++];
    throw new Error(
      `socket closed (code ${this.closeInfo.code}) while waiting for a message; received: ${JSON.stringify(this.records)}`,
    );
  }

  /** The next parsed message; Pings (type 6) are skipped unless keepPings. */
  async nextMessage({ timeoutMs = 10_000, keepPings = false } = {}) {
    for (;;) {
      const record = await this.nextRecord(timeoutMs);
      const message = JSON.parse(record);
      if (!keepPings && message.type === 6) continue;
      return message;
    }
  }

  /** Reads messages (skipping pings) until one matches; returns all read. */
  async readUntil(predicate, timeoutMs = 10_000) {
    const seen = [];
    for (;;) {
      const message = await this.nextMessage({ timeoutMs });
      seen.push(message);
      if (predicate(message)) return seen;
    }
  }

  /** Every parsed message received so far, pings excluded. */
  allMessages() {
    return this.records.map((r) => JSON.parse(r)).filter((m) => m.type !== 6);
  }

  async waitClosed(timeoutMs = 10_000) {
    return waitFor(this.closed, timeoutMs, 'the server to close the WebSocket');
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000);
    }
    return this.closed;
  }

  terminate() {
    this.ws.terminate();
  }
}

/** The VarInt length prefix of a MessagePack hub message (7-bit groups, little-endian). */
export function varint(length) {
  const bytes = [];
  let rest = length;
  do {
    let part = rest & 0x7f;
    rest >>>= 7;
    if (rest > 0) part |= 0x80;
    bytes.push(part);
  } while (rest > 0);
  return Buffer.from(bytes);
}

/** Frames one MessagePack hub message: VarInt length, then the msgpack body. */
export function binaryFrame(body) {
  return Buffer.concat([varint(body.length), Buffer.from(body)]);
}

/**
 * A raw hub connection for the MessagePack protocol: records every WebSocket
 * frame, takes the RS-terminated JSON handshake reply off the front of the
 * stream, then splits the rest into VarInt-prefixed msgpack bodies, decoded
 * with @msgpack/msgpack (the msgpack protocol package's own dependency).
 */
export class RawBinaryHub {
  constructor(ws) {
    this.ws = ws;
    openHubs.add(this);
    /** Every frame as { data: Buffer, isBinary }. */
    this.frames = [];
    /** The handshake reply (text before RS), once it arrived. */
    this.handshakeReply = null;
    /** Every msgpack body received after the handshake, as a Buffer. */
    this.bodies = [];
    this.pending = Buffer.alloc(0);
    this.readIndex = 0;
    this.parseError = null;
    this.errors = [];
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        openHubs.delete(this);
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (err) => this.errors.push(err));
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
      this.frames.push({ data: buf, isBinary });
      this.pending = Buffer.concat([this.pending, buf]);
      this.split();
    });
  }

  split() {
    if (this.handshakeReply === null) {
      const rs = this.pending.indexOf(0x1e);
      if (rs === -1) return;
      this.handshakeReply = this.pending.subarray(0, rs).toString('utf8');
      this.pending = this.pending.subarray(rs + 1);
    }
    for (;;) {
      let length = 0;
      let i = 0;
      let byte;
      do {
        if (i >= this.pending.length) return; // the prefix itself is incomplete
        byte = this.pending[i];
        length |= (byte & 0x7f) << (7 * i);
        i++;
      } while (byte & 0x80 && i < 5);
      if (byte & 0x80) {
        this.parseError = new Error('length prefix longer than 5 bytes');
        return;
      }
      if (this.pending.length < i + length) return;
      this.bodies.push(Buffer.from(this.pending.subarray(i, i + length)));
      this.pending = this.pending.subarray(i + length);
    }
  }

  static async open(url, options) {
    return new RawBinaryHub(await openWebSocket(url, options));
  }

  /** Negotiates (version 1) on `${httpBase}${path}` and opens the WebSocket with the token. */
  static async negotiateAndOpen(httpBase, path) {
    const res = await fetch(`${httpBase}${path}/negotiate?negotiateVersion=1`, { method: 'POST' });
    if (res.status !== 200) throw new Error(`negotiate failed: HTTP ${res.status} ${await res.text()}`);
    const negotiation = await res.json();
    const wsBase = httpBase.replace(/^http/, 'ws');
    const hub = await RawBinaryHub.open(`${wsBase}${path}?id=${encodeURIComponent(negotiation.connectionToken)}`);
    hub.negotiation = negotiation;
    return hub;
  }

  /** Sends raw bytes (a binary frame) or a string (a text frame). */
  send(data) {
    this.ws.send(data, { binary: typeof data !== 'string' });
  }

  /** Sends the JSON handshake as a text frame and waits for the reply. */
  async handshake(protocol = 'messagepack', version = 1, timeoutMs = 10_000) {
    this.send(frame({ protocol, version }));
    await waitFor(
      () => this.handshakeReply !== null || this.closeInfo !== null,
      timeoutMs,
      'the handshake reply',
    );
    if (this.handshakeReply !== '{}') {
      throw new Error(`handshake failed, server replied ${JSON.stringify(this.handshakeReply)}`);
    }
  }

  /** The next decoded message (an array); Pings ([6]) are skipped unless keepPings. */
  async nextMessage({ timeoutMs = 10_000, keepPings = false } = {}) {
    for (;;) {
      await waitFor(
        () => this.bodies.length > this.readIndex || this.closeInfo !== null || this.parseError,
        timeoutMs,
        () => `a message from the server; received so far: ${this.describe()}`,
      );
      if (this.parseError) throw this.parseError;
      if (this.bodies.length <= this.readIndex) {
        throw new Error(`socket closed (code ${this.closeInfo.code}) while waiting for a message; received: ${this.describe()}`);
      }
      const message = decode(this.bodies[this.readIndex++]);
      if (!keepPings && Array.isArray(message) && message[0] === 6) continue;
      return message;
    }
  }

  /** Every decoded message received so far, pings excluded. */
  allMessages() {
    return this.bodies.map((b) => decode(b)).filter((m) => !(Array.isArray(m) && m[0] === 6));
  }

  describe() {
    return this.bodies.map((b) => b.toString('hex')).join(' | ').slice(0, 500);
  }

  async waitClosed(timeoutMs = 10_000) {
    return waitFor(this.closed, timeoutMs, 'the server to close the WebSocket');
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000);
    }
    return this.closed;
  }

  terminate() {
    this.ws.terminate();
  }
}
