// What the official client (@microsoft/signalr, pinned in interop/package-lock.json) can do
// against a server of the benchmark hub (`hubs-server` or `aiosignalr_server.py`): each
// transport and protocol, then invoke, broadcast, groups, a wrong-case method name and
// stateful reconnect. Prints a Markdown table.
//
//   node bench/py/official_client_check.mjs http://127.0.0.1:<port>/hub
//
// Uses the packages installed for the interop tests (`cd interop && npm ci`).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'interop', 'package.json'));
const signalR = require('@microsoft/signalr');
const { MessagePackHubProtocol } = require('@microsoft/signalr-protocol-msgpack');

const url = process.argv[2];
if (!url || !url.startsWith('http://127.0.0.1:')) {
  console.error('usage: node official_client_check.mjs http://127.0.0.1:<port>/hub');
  process.exit(2);
}

const within = (ms, promise, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)),
  ]);

function build({ transport, skipNegotiation = false, msgpack = false, stateful = false }) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport, skipNegotiation })
    .configureLogging(signalR.LogLevel.None);
  if (msgpack) builder = builder.withHubProtocol(new MessagePackHubProtocol());
  if (stateful) builder = builder.withStatefulReconnect();
  return builder.build();
}

/** Connects, then runs `steps` (name -> async fn(connection)); one row per step. */
async function check(label, options, steps) {
  const rows = [];
  const connection = build(options);
  try {
    await within(5000, connection.start(), 'start');
  } catch (e) {
    return [[label, 'connect', `fails: ${e.message}`]];
  }
  rows.push([label, 'connect', 'ok']);
  for (const [name, step] of Object.entries(steps)) {
    try {
      rows.push([label, name, (await step(connection)) ?? 'ok']);
    } catch (e) {
      rows.push([label, name, `fails: ${e.message.split('\n')[0]}`]);
    }
  }
  await connection.stop().catch(() => {});
  return rows;
}

const common = {
  'invoke Echo': async (c) => {
    const answer = await within(3000, c.invoke('Echo', 'hi'), 'Echo');
    if (answer !== 'hi') throw new Error(`answered ${JSON.stringify(answer)}`);
  },
  'invoke echo (other case)': async (c) => {
    const answer = await within(3000, c.invoke('echo', 'hi'), 'echo');
    if (answer !== 'hi') throw new Error(`answered ${JSON.stringify(answer)}`);
  },
  'send Broadcast, receive Recv': async (c) => {
    const got = new Promise((resolve) => c.on('Recv', resolve));
    await c.send('Broadcast', 'all');
    if ((await within(3000, got, 'Recv')) !== 'all') throw new Error('wrong payload');
  },
  'groups: JoinGroup + SendToGroup': async (c) => {
    const got = new Promise((resolve) => c.on('Recv', (x) => x === 'g' && resolve(x)));
    await within(3000, c.invoke('JoinGroup', 'room'), 'JoinGroup');
    await c.send('SendToGroup', 'room', 'g');
    await within(3000, got, 'group message');
  },
  'unknown method gives an error': async (c) => {
    try {
      await within(3000, c.invoke('Nope'), 'Nope');
    } catch (e) {
      // A proper answer names the method; anything else is a different failure.
      if (!/method/i.test(e.message)) throw e;
      return `ok (${e.message.split('\n')[0]})`;
    }
    throw new Error('no error');
  },
};

const T = signalR.HttpTransportType;
const cases = [
  ['WebSockets, JSON', { transport: T.WebSockets }],
  ['WebSockets, MessagePack', { transport: T.WebSockets, msgpack: true }],
  ['WebSockets, skipNegotiation', { transport: T.WebSockets, skipNegotiation: true }],
  ['Server-Sent Events, JSON', { transport: T.ServerSentEvents }],
  ['Long Polling, JSON', { transport: T.LongPolling }],
  ['Long Polling, MessagePack', { transport: T.LongPolling, msgpack: true }],
  ['WebSockets, stateful reconnect', { transport: T.WebSockets, stateful: true }],
];

const rows = [];
for (const [label, options] of cases) {
  rows.push(...(await check(label, options, common)));
}
console.log('| transport, protocol | what | result |');
console.log('|---|---|---|');
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);
