// Helpers shared by the interop tests: spawning the example servers, building
// official-client connections, and waiting for things to happen.
import { spawn } from 'node:child_process';
import { after, afterEach, before } from 'node:test';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  HubConnectionBuilder,
  HttpTransportType,
  JsonHubProtocol,
  LogLevel,
} from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Root of the Rust workspace (the parent of interop/). */
export const repoRoot = path.resolve(here, '..', '..');
/** Where the example binaries live; override with HUBS_BIN_DIR. */
export const binDir = process.env.HUBS_BIN_DIR ?? path.join(repoRoot, 'target', 'debug');

/** How long tests wait to be reasonably sure that something does NOT arrive. */
export const QUIET_MS = Number(process.env.HUBS_QUIET_MS ?? 300);

const LOG_TAIL_CHARS = 60_000;
const LOG_KEEP_CHARS = 4_000_000;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The server of a test file: starts `${binDir}/${binName}` (see startServer()) before the
 * file's tests, stops it after them, and cleans up after each test (see cleanup()). Returns
 * the server as startServer() does, once the tests run.
 */
export function useServer(binName, options) {
  let server;
  before(async () => {
    server = await startServer(binName, options);
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(cleanup);
  return new Proxy({}, { get: (_, key) => server?.[key] });
}

/** Finds a free TCP port by binding port 0 on 127.0.0.1 and closing again. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(1000, () => done(false));
  });
}

/** Servers started by startServer() and not yet stopped. */
const liveServers = new Set();

/**
 * Spawns `${binDir}/${binName}` with PORT=<port> (a free one unless `port` is
 * given), waits until it accepts TCP connections and returns
 * { url, wsUrl, port, stop(), kill(), restart(), log(), process }.
 * The server's stdout/stderr are buffered; they are printed only when a test
 * fails (see cleanup()), when the server exits unexpectedly, or always when
 * HUBS_SERVER_LOG=1.
 */
export async function startServer(binName, options = {}) {
  const { env = {}, startTimeoutMs = 30_000 } = options;
  const bin = path.join(binDir, binName);
  if (!existsSync(bin)) {
    throw new Error(
      `server binary not found: ${bin} (run \`cargo build -p examples --bins\` or set HUBS_BIN_DIR)`,
    );
  }
  const port = options.port ?? (await freePort());
  const child = spawn(bin, [], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let logText = '';
  const live = process.env.HUBS_SERVER_LOG === '1';
  const append = (stream) => (chunk) => {
    const text = chunk.toString('utf8');
    if (live) process.stderr.write(`[${binName}:${port} ${stream}] ${text}`);
    logText += text;
    if (logText.length > LOG_KEEP_CHARS) logText = logText.slice(-LOG_KEEP_CHARS / 2);
  };
  child.stdout.on('data', append('stdout'));
  child.stderr.on('data', append('stderr'));

  let stopping = false;
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.on('error', (err) => {
      exitInfo = { code: null, signal: null, error: err };
      resolve(exitInfo);
    });
  });

  const server = {
    binName,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    process: child,
    /** The last part of the server's output. */
    log(maxChars = LOG_TAIL_CHARS) {
      return logText.length > maxChars
        ? `[... ${logText.length - maxChars} earlier chars omitted ...]\n${logText.slice(-maxChars)}`
        : logText;
    },
    dumpLog(reason) {
      process.stderr.write(
        `\n===== ${binName} (port ${port}) output${reason ? ` (${reason})` : ''} =====\n` +
          `${server.log()}\n===== end of ${binName} output =====\n`,
      );
    },
    get exitInfo() {
      return exitInfo;
    },
    async stop() {
      liveServers.delete(server);
      if (exitInfo) return exitInfo;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
    /** Kills the process at once (SIGKILL: no graceful close of any connection). */
    async kill() {
      liveServers.delete(server);
      if (exitInfo) return exitInfo;
      stopping = true;
      child.kill('SIGKILL');
      return exited;
    },
    /**
     * Kills the process (SIGKILL unless `signal` says otherwise) and starts the
     * same binary with the same options on the SAME port. Resolves with the new
     * server object once it accepts connections.
     */
    async restart({ signal = 'SIGKILL' } = {}) {
      if (signal === 'SIGKILL') await server.kill();
      else await server.stop();
      // The port is normally free again once the process is gone; retry a
      // failed start (e.g. a bind error) a few times all the same.
      for (let attempt = 1; ; attempt++) {
        try {
          return await startServer(binName, { ...options, port });
        } catch (err) {
          if (attempt >= 5) throw err;
          await sleep(200 * attempt);
        }
      }
    },
  };

  exited.then((info) => {
    if (!stopping) {
      server.dumpLog(
        `exited unexpectedly: code=${info.code} signal=${info.signal}${info.error ? ` ${info.error.message}` : ''}`,
      );
    }
  });

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exitInfo) {
      throw new Error(
        `${binName} exited before accepting connections (code=${exitInfo.code} signal=${exitInfo.signal})\n${server.log()}`,
      );
    }
    if (await tryConnect(port)) break;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${binName} did not accept connections on port ${port} within ${startTimeoutMs} ms\n${server.log()}`);
    }
    await sleep(50);
  }
  liveServers.add(server);
  return server;
}

/** The hub protocols the official JS client speaks, by their wire names. */
export const PROTOCOLS = ['json', 'messagepack'];

/** The transports, by their negotiate names, in the order servers offer them. */
export const TRANSPORTS = ['WebSockets', 'ServerSentEvents', 'LongPolling'];

/**
 * Every transport × protocol combination the official client allows (SSE is
 * text-only, so it carries JSON but not MessagePack). Suites loop over these.
 */
export const COMBINATIONS = [
  { name: 'WebSockets + json', transport: 'WebSockets', protocol: 'json' },
  { name: 'WebSockets + messagepack', transport: 'WebSockets', protocol: 'messagepack' },
  { name: 'ServerSentEvents + json', transport: 'ServerSentEvents', protocol: 'json' },
  { name: 'LongPolling + json', transport: 'LongPolling', protocol: 'json' },
  { name: 'LongPolling + messagepack', transport: 'LongPolling', protocol: 'messagepack' },
];

/**
 * The client's HttpTransportType for a transport name ('WebSockets',
 * 'ServerSentEvents', 'LongPolling'), or a `|`-joined list of names
 * ('WebSockets|LongPolling'); numbers (HttpTransportType flags) pass through.
 * `null` means no restriction (the client's default: every transport).
 */
export function transportType(transport) {
  if (transport === null) return null;
  if (typeof transport === 'number') return transport;
  let flags = 0;
  for (const name of String(transport).split('|').map((n) => n.trim())) {
    if (!TRANSPORTS.includes(name)) {
      throw new Error(`unknown transport ${JSON.stringify(name)} (expected one of ${TRANSPORTS.join(', ')})`);
    }
    flags |= HttpTransportType[name];
  }
  return flags;
}

const TRANSPORT_CLASSES = {
  WebSocketTransport: 'WebSockets',
  ServerSentEventsTransport: 'ServerSentEvents',
  LongPollingTransport: 'LongPolling',
};

/**
 * The transport a started HubConnection really uses, by its negotiate name.
 * Reads the official client's internals (HubConnection.connection is the
 * HttpConnection, whose `transport` is the transport object).
 */
export function usedTransport(connection) {
  const transport = connection.connection?.transport;
  if (!transport) throw new Error('the connection has no transport (not started?)');
  const name = TRANSPORT_CLASSES[transport.constructor.name];
  if (!name) throw new Error(`unexpected transport class ${transport.constructor.name}`);
  return name;
}

/**
 * A fresh hub protocol instance for a wire name ('json' or 'messagepack');
 * a protocol object is returned unchanged.
 */
export function hubProtocol(protocol) {
  if (typeof protocol !== 'string') return protocol;
  switch (protocol) {
    case 'json':
      return new JsonHubProtocol();
    case 'messagepack':
      return new MessagePackHubProtocol();
    default:
      throw new Error(`unknown hub protocol ${JSON.stringify(protocol)} (expected one of ${PROTOCOLS.join(', ')})`);
  }
}

/** Connections built by buildConnection()/connect() and not yet cleaned up. */
const trackedConnections = new Set();

/**
 * Builds (but does not start) an official-client HubConnection.
 * Options: transport ('WebSockets' — the default —, 'ServerSentEvents',
 * 'LongPolling', a '|'-joined list of those, an HttpTransportType, or null for
 * the client's default of trying every transport the server offers),
 * skipNegotiation, headers, quiet (no client logging at all), logLevel (default
 * Warning), logger (an ILogger, instead of the console one), protocol ('json' —
 * the default —, 'messagepack', or a hub protocol object), reconnect (true or
 * an array of delays / a retry policy for withAutomaticReconnect),
 * accessTokenFactory (a function returning the bearer token, as in browsers).
 */
export function buildConnection(url, opts = {}) {
  const {
    transport = 'WebSockets',
    skipNegotiation = false,
    headers,
    quiet = false,
    logLevel = LogLevel.Warning,
    logger,
    protocol,
    reconnect,
    accessTokenFactory,
  } = opts;
  const httpOptions = { skipNegotiation };
  if (accessTokenFactory) httpOptions.accessTokenFactory = accessTokenFactory;
  const type = transportType(transport);
  if (type !== null) httpOptions.transport = type;
  if (headers) httpOptions.headers = headers;
  const builder = new HubConnectionBuilder()
    .withUrl(url, httpOptions)
    .configureLogging(logger ?? (quiet ? LogLevel.None : logLevel));
  if (protocol) builder.withHubProtocol(hubProtocol(protocol));
  if (reconnect === true) builder.withAutomaticReconnect();
  else if (reconnect) builder.withAutomaticReconnect(reconnect);
  const connection = builder.build();
  trackedConnections.add(connection);
  return connection;
}

/**
 * Builds a connection, calls opts.setup(connection) (register handlers there),
 * then awaits start().
 */
export async function connect(url, opts = {}) {
  const connection = buildConnection(url, opts);
  if (opts.setup) opts.setup(connection);
  await connection.start();
  return connection;
}

/** Stops every connection created through buildConnection()/connect(). */
export async function stopAllConnections() {
  const all = [...trackedConnections];
  trackedConnections.clear();
  await Promise.allSettled(all.map((c) => c.stop()));
}

/**
 * For afterEach: stops all tracked connections and, when the test failed,
 * prints the output of every running server.
 */
export async function cleanup(t) {
  if (t && t.passed === false) {
    for (const server of liveServers) server.dumpLog(`test failed: ${t.name}`);
  }
  await stopAllConnections();
}

/** Resolves with the error `onclose` reports for `connection` (undefined for a clean close). */
export function closeOf(connection) {
  return new Promise((resolve) => connection.onclose(resolve));
}

/** POSTs `body` as JSON to `url` and returns the response's status (REST endpoints of the examples). */
export async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.status;
}

/**
 * Waits until `what` is done. `what` is a promise, or a (possibly async)
 * predicate polled every 10 ms until it returns a truthy value, which is then
 * returned. `message` may be a string or a function producing one.
 */
export async function waitFor(what, timeoutMs = 10_000, message = 'condition') {
  const describe = () => (typeof message === 'function' ? message() : message);
  if (typeof what !== 'function') {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([Promise.resolve(what), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`);
    await sleep(10);
  }
}

/**
 * Collects the calls of client method `method` on `connection`. Each call is
 * stored as its single argument, or as the array of its arguments when the
 * method has more than one. Register before start() to see early messages.
 */
export class Collector {
  constructor(connection, method, map = (...args) => (args.length === 1 ? args[0] : args)) {
    this.method = method;
    this.items = [];
    connection.on(method, (...args) => {
      this.items.push(map(...args));
    });
  }

  get length() {
    return this.items.length;
  }

  clear() {
    this.items.length = 0;
  }

  /** Resolves with the items once at least n have arrived. */
  async waitForCount(n, timeoutMs = 10_000) {
    await waitFor(
      () => this.items.length >= n,
      timeoutMs,
      () => `${n} '${this.method}' message(s); got ${this.items.length}: ${JSON.stringify(this.items).slice(0, 500)}`,
    );
    return this.items;
  }

  /** Resolves with the first item matching predicate. */
  async waitForItem(predicate, timeoutMs = 10_000) {
    let found;
    await waitFor(
      () => {
        found = this.items.find(predicate);
        return found !== undefined;
      },
      timeoutMs,
      () => `a matching '${this.method}' message; got ${JSON.stringify(this.items).slice(0, 500)}`,
    );
    return found;
  }
}

export function collect(connection, method, map) {
  return new Collector(connection, method, map);
}
