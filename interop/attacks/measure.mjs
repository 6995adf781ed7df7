// Measures the attacks of issue 15 against the example binaries in HUBS_BIN_DIR (default
// target/debug) and prints one JSON result per run, for RELIABILITY.md.
//
//   node interop/attacks/measure.mjs <attack> [runs]
//   HUBS_BIN_DIR=/tmp/before-bin node interop/attacks/measure.mjs frame
//
// Attacks: frame, fragments, headers, queue, storm, stalled, trickle, utf8, negotiate,
// slow-body (or all). Loopback only;
// every loop is bounded by a count or a time.
import { watchLogLines } from '../lib/attack.mjs';
import { binDir, startServer } from '../lib/server.mjs';
import * as scenarios from './scenarios.mjs';

const HEADER_TIMEOUT_MS = 1000;

const attacks = {
  frame: { bin: 'interop', run: (s) => scenarios.oversizedFrames(s) },
  fragments: { bin: 'interop', run: (s) => scenarios.fragmentedMessage(s) },
  headers: {
    bin: 'interop',
    env: { HEADER_READ_TIMEOUT_MS: String(HEADER_TIMEOUT_MS) },
    run: (s) => scenarios.idleHeaders(s, { observeMs: Number(process.env.OBSERVE_MS ?? 10_000) }),
  },
  queue: {
    bin: 'interop',
    run: (s) =>
      scenarios.queuedInvocations(s, {
        delayMs: Number(process.env.DELAY_MS ?? 30_000),
        holdMs: Number(process.env.HOLD_MS ?? 25_000),
      }),
  },
  storm: {
    bin: 'chat',
    run: (s) =>
      scenarios.connectionStorm(s, {
        parallel: Number(process.env.PARALLEL ?? 100),
        attackersRead: process.env.ATTACKERS_READ !== '0',
      }),
  },
  stalled: {
    bin: 'chat',
    run: (s) =>
      scenarios.stalledReader(s, {
        stalledCount: Number(process.env.STALLED ?? 1),
        messageBytes: Number(process.env.MESSAGE_BYTES ?? 16 * 1024),
        burst: Number(process.env.BURST ?? 9),
        intervalMs: Number(process.env.INTERVAL_MS ?? 0),
        maxMs: Number(process.env.MAX_MS ?? 20_000),
      }),
  },
  trickle: {
    bin: 'chat',
    run: (s) => scenarios.trickleToStalledReader(s, { fillBytes: Number(process.env.FILL_MIB ?? 6.5) * 1024 * 1024 }),
  },
  utf8: { bin: 'interop', run: (s) => scenarios.invalidUtf8(s) },
  negotiate: { bin: 'interop', run: (s) => scenarios.oversizedNegotiateBody(s) },
  'slow-body': {
    bin: 'interop',
    env: { HEADER_READ_TIMEOUT_MS: String(HEADER_TIMEOUT_MS) },
    run: (s) => scenarios.slowBody(s, { observeMs: Number(process.env.OBSERVE_MS ?? 10_000) }),
  },
};

// Big or circular fields that the scenarios return for the tests' use.
const omitted = new Set(['hubs', 'entries', 'attackers', 'socket']);
const printable = (key, value) => (omitted.has(key) ? undefined : value);

async function measure(name) {
  const attack = attacks[name];
  const server = await startServer(attack.bin, { env: attack.env ?? {} });
  const warnings = watchLogLines(server, /send queue full|does not keep up with what is sent/i);
  try {
    const result = await attack.run(server);
    await new Promise((r) => setTimeout(r, 500));
    result.sendQueueFullLogLines = { total: warnings.total, maxPerConnection: warnings.maxPerConnection, connections: warnings.byConnection.size };
    result.serverAlive = server.exitInfo === null;
    result.binDir = binDir;
    console.log(JSON.stringify(result, printable, 1));
  } finally {
    warnings.stop();
    await server.stop();
  }
}

const [name = 'all', runs = '1'] = process.argv.slice(2);
const names = name === 'all' ? Object.keys(attacks) : [name];
for (const n of names) {
  if (!attacks[n]) throw new Error(`unknown attack ${n}; one of ${Object.keys(attacks).join(', ')}`);
  for (let i = 0; i < Number(runs); i++) await measure(n);
}
process.exit(0);
