// Three nodes of the `cluster` example on one real redis-server (started here on a free port),
// driven by the official client: broadcasts reach every client on every node exactly once over
// every transport and protocol; every target, group changes and client results cross nodes;
// Redis killed and restarted mid-test (local delivery never stops, cross-node delivery
// resumes, nothing is duplicated); a node killed (presence from another node, offline within
// the expiry); a node whose Redis connections go half open finds out by its ping.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, collect, COMBINATIONS, connect, QUIET_MS, sleep, startServer, waitFor } from '../lib/server.mjs';
import { redisCommand, startRedis } from '../lib/redis.mjs';
import { startBlackholeProxy } from '../lib/blackhole-proxy.mjs';

const T = { timeout: 60_000 };

let redis;
let nodes = [];

async function startNode(index, url = redis.url) {
  return startServer('cluster', {
    env: {
      REDIS_URL: url,
      REDIS_ACK_TIMEOUT_MS: '2000',
      REDIS_PRESENCE_EXPIRY_MS: '1500',
      NODE_NAME: `node${index}`,
      RUST_LOG: 'info',
    },
  });
}

before(async () => {
  redis = await startRedis();
  nodes = await Promise.all([0, 1, 2].map((i) => startNode(i)));
});
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.stop()));
  await redis?.kill();
});
afterEach(cleanup);

let serial = 0;
const unique = (name) => `${name}-${process.pid}-${++serial}`;

/** A client of `node` over `combination` (WebSockets + JSON by default) as `user`. */
async function client(node, { transport = 'WebSockets', protocol = 'json', user, answer } = {}) {
  const query = user === undefined ? '' : `?user=${encodeURIComponent(user)}`;
  let received;
  const connection = await connect(`${node.url}/hubs/cluster${query}`, {
    transport,
    protocol,
    setup(conn) {
      received = collect(conn, 'Receive');
      if (answer) conn.on('Ask', answer);
    },
  });
  const [id, name] = await connection.invoke('Whoami');
  return { connection, id, node: name, received, name: `${name}/${transport}/${protocol}` };
}

/** Waits for what `expected` lists per client (others: nothing), then for quiet, and compares. */
async function assertReceived(clients, expected) {
  for (const [name, items] of Object.entries(expected)) await clients[name].received.waitForCount(items.length);
  await sleep(QUIET_MS);
  const actual = Object.fromEntries(Object.entries(clients).map(([n, c]) => [n, [...c.received.items].sort()]));
  const wanted = Object.fromEntries(Object.keys(clients).map((n) => [n, [...(expected[n] ?? [])].sort()]));
  assert.deepEqual(actual, wanted);
  for (const c of Object.values(clients)) c.received.clear();
}

describe('Redis backplane, 3 nodes', () => {
  test('a broadcast from each node reaches every client of every node once, on every transport and protocol', T, async () => {
    const clients = [];
    for (const node of nodes) {
      for (const combination of COMBINATIONS) clients.push(await client(node, combination));
    }
    assert.deepEqual(new Set(clients.map((c) => c.node)), new Set(['node0', 'node1', 'node2']));
    const publishes = async () => {
      const stats = await redisCommand(redis.port, 'INFO', 'commandstats');
      return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    const publishedBefore = await publishes();
    const sent = [];
    for (const from of [0, 5, 10]) {
      const text = unique(`from-${clients[from].node}`);
      sent.push(text);
      await clients[from].connection.invoke('SendAll', text);
    }
    for (const c of clients) await c.received.waitForCount(sent.length);
    await sleep(QUIET_MS);
    for (const c of clients) assert.deepEqual([...c.received.items].sort(), [...sent].sort(), c.name);
    // One PUBLISH per broadcast, however many nodes and clients (Redis's own count).
    assert.equal((await publishes()) - publishedBefore, sent.length);
  });

  test('every target, group changes and users across nodes', T, async () => {
    const [g, h] = [unique('g'), unique('h')];
    const ann = unique('ann');
    const bob = unique('bob');
    const c = {
      a: await client(nodes[0], { user: ann }),
      b: await client(nodes[1], { user: ann, protocol: 'messagepack' }),
      c: await client(nodes[2], { user: bob, transport: 'LongPolling' }),
      d: await client(nodes[1], { transport: 'ServerSentEvents' }),
    };
    const a = c.a.connection;
    // Group changes for connections of other nodes, acknowledged by their nodes.
    await a.invoke('AddToGroup', c.a.id, g);
    await a.invoke('AddToGroup', c.b.id, g);
    await a.invoke('AddToGroup', c.c.id, g);
    await c.d.connection.invoke('AddToGroup', c.c.id, h);

    await a.invoke('SendAllExcept', [c.b.id], 'all-but-b');
    await assertReceived(c, { a: ['all-but-b'], c: ['all-but-b'], d: ['all-but-b'] });
    await a.invoke('SendOthers', 'others');
    await assertReceived(c, { b: ['others'], c: ['others'], d: ['others'] });
    await a.invoke('SendClient', c.c.id, 'to-c');
    await assertReceived(c, { c: ['to-c'] });
    await a.invoke('SendClients', [c.b.id, c.d.id], 'to-bd');
    await assertReceived(c, { b: ['to-bd'], d: ['to-bd'] });
    await a.invoke('SendGroup', g, 'g');
    await assertReceived(c, { a: ['g'], b: ['g'], c: ['g'] });
    await c.d.connection.invoke('SendGroups', [g, h], 'gh');
    await assertReceived(c, { a: ['gh'], b: ['gh'], c: ['gh', 'gh'] });
    await a.invoke('SendGroupExcept', g, [c.c.id], 'g-but-c');
    await assertReceived(c, { a: ['g-but-c'], b: ['g-but-c'] });
    await a.invoke('SendOthersInGroup', g, 'g-others');
    await assertReceived(c, { b: ['g-others'], c: ['g-others'] });
    // A user with connections on two nodes.
    await c.c.connection.invoke('SendUser', ann, 'ann');
    await assertReceived(c, { a: ['ann'], b: ['ann'] });
    await c.d.connection.invoke('SendUsers', [ann, bob], 'ann+bob');
    await assertReceived(c, { a: ['ann+bob'], b: ['ann+bob'], c: ['ann+bob'] });

    // Remote removal; the last member's node unsubscribes, and nothing arrives there.
    await c.d.connection.invoke('RemoveFromGroup', c.c.id, g);
    await c.d.connection.invoke('RemoveFromGroup', c.b.id, g);
    await c.d.connection.invoke('SendGroup', g, 'g-after');
    await assertReceived(c, { a: ['g-after'] });
    // Adding a connection no node holds fails once the ack timeout passes.
    await assert.rejects(a.invoke('AddToGroup', 'no-such-connection', g), /no server acknowledged/);
  });

  test('a client result answered by a connection on another node', T, async () => {
    const asker = await client(nodes[0]);
    const answerer = await client(nodes[2], {
      transport: 'LongPolling',
      protocol: 'messagepack',
      answer: (question) => `answer to ${question}`,
    });
    assert.equal(await asker.connection.invoke('Ask', answerer.id, 'q1'), 'answer to q1');
    const neighbour = await client(nodes[0], { answer: (question) => `local ${question}` });
    assert.equal(await asker.connection.invoke('Ask', neighbour.id, 'q2'), 'local q2');
    await assert.rejects(asker.connection.invoke('Ask', 'no-such-connection', 'q'), /Connection 'no-such-connection' does not exist\./);
  });

  test('Redis killed and restarted: local delivery goes on, cross-node delivery resumes, nothing doubles', T, async () => {
    const g = unique('g');
    const x = await client(nodes[0]);
    const y = await client(nodes[0], { transport: 'ServerSentEvents' });
    const z = await client(nodes[1], { protocol: 'messagepack' });
    await x.connection.invoke('SendAll', 'before');
    await assertReceived({ x, y, z }, { x: ['before'], y: ['before'], z: ['before'] });

    await redis.kill();
    // Node0 learns that Redis is gone as its sockets close; a publication in that instant is
    // written to the dead connection (sends do not wait for Redis's answer). A probe to z (on
    // node1, unreachable now, no local delivery) shows when node0 knows.
    await waitFor(
      () => x.connection.invoke('SendClient', z.id, 'probe').then(() => false, () => true),
      5_000,
      'node0 to see that Redis is gone',
    );
    // From then on, sends that must cross nodes fail (logged), local connections still get them.
    await assert.rejects(x.connection.invoke('SendAll', 'during'), /could not publish to Redis/);
    await x.connection.invoke('AddToGroup', y.id, g); // local: remembered
    await x.connection.invoke('SendClient', y.id, 'direct');
    await assertReceived({ x, y, z }, { x: ['during'], y: ['during', 'direct'] });

    redis = await startRedis({ port: redis.port });
    // Cross-node delivery resumes once the nodes have reconnected and resubscribed.
    let probes = 0;
    await waitFor(async () => {
      await z.connection.invoke('SendGroup', g, `probe-${++probes}`).catch(() => {});
      await sleep(100);
      return y.received.length > 0;
    }, 20_000, 'a group send from node1 to node0 after Redis came back');
    const delivered = y.received.items;
    assert.equal(new Set(delivered).size, delivered.length, `no duplicates: ${delivered}`);
    for (const c of [x, y, z]) c.received.clear();
    await z.connection.invoke('SendAll', 'after');
    await assertReceived({ x, y, z }, { x: ['after'], y: ['after'], z: ['after'] });
    // Each connection's own channel is back too (node0 subscribed again from its connections).
    await z.connection.invoke('SendClient', x.id, 'direct-after');
    await assertReceived({ x, y, z }, { x: ['direct-after'] });
  });

  test('a node killed: its connections stop receiving, everything else goes on', T, async () => {
    const g = unique('g');
    const carol = unique('carol');
    const survivor = await client(nodes[0], { user: carol });
    const other = await client(nodes[1]);
    const doomed = await client(nodes[2], { user: carol });
    await survivor.connection.invoke('AddToGroup', survivor.id, g);
    await survivor.connection.invoke('AddToGroup', doomed.id, g);
    // Presence: seen from another node; the dead node's users go offline within the expiry.
    const dave = unique('dave');
    await client(nodes[2], { user: dave });
    assert.equal(await other.connection.invoke('UserConnections', carol), 2);
    assert.equal(await other.connection.invoke('IsOnline', dave), true);
    await nodes[2].kill();
    const killedAt = Date.now();
    await waitFor(async () => !(await other.connection.invoke('IsOnline', dave)), 5_000, `${dave} offline`);
    assert.ok(Date.now() - killedAt < 3_000, 'offline within the 1.5 s expiry (and a refresh)');
    assert.equal(await other.connection.invoke('UserConnections', carol), 1);
    await survivor.connection.invoke('SendGroup', g, 'group');
    await other.connection.invoke('SendUser', carol, 'user');
    await other.connection.invoke('SendAll', 'all');
    await assertReceived({ survivor, other }, { survivor: ['group', 'user', 'all'], other: ['all'] });
    await assert.rejects(survivor.connection.invoke('Ask', doomed.id, 'q'), /does not exist|disconnected/);
    nodes[2] = await startNode(2);
  });

  test('a half-open Redis connection is found by a ping: cross-node sends then fail at once, local delivery goes on', T, async () => {
    const proxy = await startBlackholeProxy(redis.port);
    const cut = await startNode(3, `redis://127.0.0.1:${proxy.port}`);
    try {
      const local = await client(cut);
      const remote = await client(nodes[0]);
      await local.connection.invoke('SendAll', 'through');
      await assertReceived({ local, remote }, { local: ['through'], remote: ['through'] });

      // The network drops everything and resets nothing: only a ping can tell.
      proxy.freeze();
      await waitFor(() => cut.log().includes('did not answer a ping'), 15_000, 'the ping finds the dead connection');
      await assert.rejects(local.connection.invoke('SendAll', 'cut off'), /could not publish to Redis/);
      await assertReceived({ local, remote }, { local: ['cut off'] });
    } finally {
      await cut.stop();
      await proxy.close();
    }
  });
});
