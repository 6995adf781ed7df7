// Who receives a send, and who must not, for every client target of the
// `interop` example's TestHub: all, all-except, caller, others, one connection,
// several connections, a group, several groups, group-except, others in group,
// a user, several users, and a user from outside the hub (REST). Over every
// transport × hub protocol combination, plus connections of all combinations
// sharing one broadcast.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, COMBINATIONS, connect, QUIET_MS, sleep, useServer } from '../lib/server.mjs';

/** Per-test limit, so that a hung server fails the test instead of hanging the run. */
const T = { timeout: 30_000 };

const server = useServer('interop');

/** Names unique to one test, so that nothing a test leaves behind can reach the next one. */
let serial = 0;
const unique = (name) => `${name}-${process.pid}-${++serial}`;

/**
 * Connects to /hubs/test over `combination` ({ transport, protocol }) as `user`
 * (no user when undefined) with a collector for `Received`, the only client
 * method the hub calls.
 */
async function client({ transport, protocol }, user) {
  const query = user === undefined ? '' : `?user=${encodeURIComponent(user)}`;
  let received;
  const connection = await connect(`${server.url}/hubs/test${query}`, {
    transport,
    protocol,
    setup(conn) {
      received = collect(conn, 'Received');
    },
  });
  return { connection, id: connection.connectionId, received, user };
}

/**
 * Waits until every named client has received (at least) what `expected`
 * lists, then for QUIET_MS, and asserts that each received exactly that, in
 * order. Clients not named in `expected` must have received nothing.
 */
async function assertReceived(clients, expected) {
  for (const [name, items] of Object.entries(expected)) {
    assert.ok(name in clients, `unknown client ${name}`);
    await clients[name].received.waitForCount(items.length);
  }
  await sleep(QUIET_MS);
  const actual = {};
  const wanted = {};
  for (const [name, c] of Object.entries(clients)) {
    actual[name] = c.received.items;
    wanted[name] = expected[name] ?? [];
  }
  assert.deepEqual(actual, wanted);
}

for (const combination of COMBINATIONS) {
  describe(`targets over ${combination.name}`, () => {
    /**
     * Five connections: the caller `a` (user alice), another group member `b`
     * (user bob), a non-member without a user `c`, and `d1`/`d2`, two
     * connections of user dave of which only d1 is in the group.
     * a, b and d1 are in `group`; c and d1 are in `group2`.
     */
    async function crowd() {
      const users = { alice: unique('alice'), bob: unique('bob'), dave: unique('dave') };
      const group = unique('group');
      const group2 = unique('group2');
      const clients = {
        a: await client(combination, users.alice),
        b: await client(combination, users.bob),
        c: await client(combination),
        d1: await client(combination, users.dave),
        d2: await client(combination, users.dave),
      };
      for (const name of ['a', 'b', 'd1']) {
        assert.equal(await clients[name].connection.invoke('JoinGroup', group), null);
      }
      for (const name of ['c', 'd1']) {
        assert.equal(await clients[name].connection.invoke('JoinGroup', group2), null);
      }
      const { a, b, c, d1, d2 } = clients;
      return { clients, a, b, c, d1, d2, users, group, group2 };
    }

    test('GetUser returns the user from the query, or null', T, async () => {
      const { a, b, c, d1, d2, users } = await crowd();
      assert.equal(await a.connection.invoke('GetUser'), users.alice);
      assert.equal(await b.connection.invoke('GetUser'), users.bob);
      assert.equal(await c.connection.invoke('GetUser'), null);
      assert.equal(await d1.connection.invoke('GetUser'), users.dave);
      assert.equal(await d2.connection.invoke('GetUser'), users.dave);
      const odd = await client(combination, 'Zoë Smith/ü 🌍');
      assert.equal(await odd.connection.invoke('GetUser'), 'Zoë Smith/ü 🌍');
    });

    test('SendToAll reaches every connection', T, async () => {
      const { clients, a } = await crowd();
      assert.equal(await a.connection.invoke('SendToAll', 'all'), null);
      await assertReceived(clients, { a: ['all'], b: ['all'], c: ['all'], d1: ['all'], d2: ['all'] });
    });

    test('SendToCaller and SendToCallerTyped reach only the caller', T, async () => {
      const { clients, a, c } = await crowd();
      assert.equal(await a.connection.invoke('SendToCaller', 'caller'), null);
      assert.equal(await a.connection.invoke('SendToCallerTyped', 'caller-typed'), null);
      assert.equal(await c.connection.invoke('SendToCallerTyped', 'c-self'), null);
      await assertReceived(clients, { a: ['caller', 'caller-typed'], c: ['c-self'] });
    });

    test('SendToOthers and SendToOthersTyped reach everyone but the caller', T, async () => {
      const { clients, a, d1 } = await crowd();
      assert.equal(await a.connection.invoke('SendToOthers', 'others'), null);
      assert.equal(await a.connection.invoke('SendToOthersTyped', 'others-typed'), null);
      // d2 shares d1's user but is a different connection, so it is one of d1's "others".
      assert.equal(await d1.connection.invoke('SendToOthersTyped', 'from-d1'), null);
      const both = ['others', 'others-typed'];
      await assertReceived(clients, {
        a: ['from-d1'],
        b: [...both, 'from-d1'],
        c: [...both, 'from-d1'],
        d1: both,
        d2: [...both, 'from-d1'],
      });
    });

    test('SendToAllExcept skips exactly the excluded connections', T, async () => {
      const { clients, a, b, c, d1, d2 } = await crowd();
      assert.equal(await a.connection.invoke('SendToAllExcept', [b.id, d1.id], 'x1'), null);
      // The caller can exclude itself; an empty list excludes nobody; unknown ids are ignored.
      assert.equal(await a.connection.invoke('SendToAllExcept', [a.id], 'x2'), null);
      assert.equal(await a.connection.invoke('SendToAllExcept', [], 'x3'), null);
      assert.equal(await a.connection.invoke('SendToAllExcept', ['no-such-connection', c.id, d2.id], 'x4'), null);
      await assertReceived(clients, {
        a: ['x1', 'x3', 'x4'],
        b: ['x2', 'x3', 'x4'],
        c: ['x1', 'x2', 'x3'],
        d1: ['x2', 'x3', 'x4'],
        d2: ['x1', 'x2', 'x3'],
      });
    });

    test('SendToConnection and SendToClients reach exactly the listed connections', T, async () => {
      const { clients, a, b, c, d2 } = await crowd();
      assert.equal(await a.connection.invoke('SendToConnection', c.id, 'one'), null);
      assert.equal(await a.connection.invoke('SendToConnection', 'no-such-connection', 'nobody'), null);
      assert.equal(await a.connection.invoke('SendToClients', [c.id, d2.id], 'two'), null);
      assert.equal(await b.connection.invoke('SendToClients', [a.id, 'no-such-connection'], 'three'), null);
      assert.equal(await b.connection.invoke('SendToClients', [], 'none'), null);
      await assertReceived(clients, { a: ['three'], c: ['one', 'two'], d2: ['two'] });
    });

    test('SendToGroup reaches the members (the caller too), JoinGroup/LeaveGroup change that', T, async () => {
      const { clients, a, b, c, group } = await crowd();
      assert.equal(await a.connection.invoke('SendToGroup', group, 'g1'), null);
      assert.equal(await c.connection.invoke('SendToGroup', group, 'g2'), null);
      assert.equal(await b.connection.invoke('LeaveGroup', group), null);
      assert.equal(await c.connection.invoke('JoinGroup', group), null);
      // Joining twice does not make a member receive twice.
      assert.equal(await c.connection.invoke('JoinGroup', group), null);
      assert.equal(await c.connection.invoke('SendToGroup', group, 'g3'), null);
      assert.equal(await c.connection.invoke('SendToGroup', unique('empty'), 'nobody'), null);
      await assertReceived(clients, {
        a: ['g1', 'g2', 'g3'],
        b: ['g1', 'g2'],
        c: ['g3'],
        d1: ['g1', 'g2', 'g3'],
      });
    });

    test('SendToGroups: every member of any listed group; a member of two groups gets it twice', T, async () => {
      const { clients, b, group, group2 } = await crowd();
      assert.equal(await b.connection.invoke('SendToGroups', [group, group2], 'gs'), null);
      assert.equal(await b.connection.invoke('SendToGroups', [group2], 'g2-only'), null);
      assert.equal(await b.connection.invoke('SendToGroups', [], 'none'), null);
      await assertReceived(clients, {
        a: ['gs'],
        b: ['gs'],
        c: ['gs', 'g2-only'],
        d1: ['gs', 'gs', 'g2-only'],
      });
    });

    test('SendToGroupExcept skips the excluded members only', T, async () => {
      const { clients, a, b, c, d1, group } = await crowd();
      assert.equal(await a.connection.invoke('SendToGroupExcept', group, [b.id], 'ge1'), null);
      // Excluding a non-member (c) or the other connection of a member's user (d2) changes nothing.
      assert.equal(await c.connection.invoke('SendToGroupExcept', group, [a.id, c.id, clients.d2.id], 'ge2'), null);
      assert.equal(await c.connection.invoke('SendToGroupExcept', group, [], 'ge3'), null);
      assert.equal(await c.connection.invoke('SendToGroupExcept', group, [a.id, b.id, d1.id], 'nobody'), null);
      await assertReceived(clients, {
        a: ['ge1', 'ge3'],
        b: ['ge2', 'ge3'],
        d1: ['ge1', 'ge2', 'ge3'],
      });
    });

    test('SendToOthersInGroup skips the caller; from a non-member it reaches every member', T, async () => {
      const { clients, a, c, d1, group, group2 } = await crowd();
      assert.equal(await a.connection.invoke('SendToOthersInGroup', group, 'oig1'), null);
      assert.equal(await c.connection.invoke('SendToOthersInGroup', group, 'oig2'), null);
      assert.equal(await d1.connection.invoke('SendToOthersInGroup', group2, 'oig3'), null);
      await assertReceived(clients, {
        a: ['oig2'],
        b: ['oig1', 'oig2'],
        c: ['oig3'],
        d1: ['oig1', 'oig2'],
      });
    });

    test('SendToUser reaches every connection of that user and nobody else', T, async () => {
      const { clients, a, b, c, users } = await crowd();
      assert.equal(await a.connection.invoke('SendToUser', users.dave, 'u-dave'), null);
      assert.equal(await b.connection.invoke('SendToUser', users.alice, 'u-alice'), null);
      // The caller's own user includes the caller.
      assert.equal(await b.connection.invoke('SendToUser', users.bob, 'u-bob'), null);
      // User ids are compared exactly.
      assert.equal(await c.connection.invoke('SendToUser', users.dave.toUpperCase(), 'wrong-case'), null);
      assert.equal(await c.connection.invoke('SendToUser', unique('nobody'), 'nobody'), null);
      await assertReceived(clients, {
        a: ['u-alice'],
        b: ['u-bob'],
        d1: ['u-dave'],
        d2: ['u-dave'],
      });
    });

    test('connections without a user never get user sends', T, async () => {
      const { clients, a } = await crowd();
      for (const user of ['', 'null', 'undefined']) {
        assert.equal(await a.connection.invoke('SendToUser', user, `user ${JSON.stringify(user)}`), null);
      }
      assert.equal(await a.connection.invoke('SendToUsers', ['', 'null', 'undefined'], 'users'), null);
      const res = await fetch(`${server.url}/api/users/null`, { method: 'POST', body: 'rest null' });
      assert.equal(res.status, 200);
      await assertReceived(clients, {});
    });

    test('SendToUsers reaches the connections of every listed user', T, async () => {
      const { clients, b, c, users } = await crowd();
      assert.equal(await c.connection.invoke('SendToUsers', [users.alice, users.dave], 'us1'), null);
      assert.equal(await c.connection.invoke('SendToUsers', [users.bob, unique('nobody')], 'us2'), null);
      assert.equal(await b.connection.invoke('SendToUsers', [], 'none'), null);
      await assertReceived(clients, {
        a: ['us1'],
        b: ['us2'],
        d1: ['us1'],
        d2: ['us1'],
      });
    });

    test('a user with two connections: after one disconnects, user sends reach the other', T, async () => {
      const { clients, a, d1, users } = await crowd();
      await d1.connection.stop();
      delete clients.d1;
      assert.equal(await a.connection.invoke('SendToUser', users.dave, 'after-stop'), null);
      assert.equal(await a.connection.invoke('SendToUsers', [users.dave], 'after-stop-users'), null);
      await assertReceived(clients, { d2: ['after-stop', 'after-stop-users'] });
      assert.deepEqual(d1.received.items, [], 'the stopped connection received nothing');
    });

    test('group membership is gone after a member disconnects', T, async () => {
      const { clients, b, c, group, group2 } = await crowd();
      const stopped = clients.d1;
      await stopped.connection.stop();
      delete clients.d1;
      // A new connection that joined nothing, even one of the same user, is not a member.
      clients.e = await client(combination);
      clients.f = await client(combination, stopped.user);
      assert.equal(await c.connection.invoke('SendToGroup', group, 'g-after'), null);
      assert.equal(await c.connection.invoke('SendToGroups', [group, group2], 'gs-after'), null);
      assert.equal(await b.connection.invoke('SendToOthersInGroup', group, 'oig-after'), null);
      await assertReceived(clients, {
        a: ['g-after', 'gs-after', 'oig-after'],
        b: ['g-after', 'gs-after'],
        c: ['gs-after'],
      });
      assert.deepEqual(stopped.received.items, [], 'the stopped connection received nothing');
    });

    test('POST /api/users/{user} reaches that user\'s connections only', T, async () => {
      const { clients, users } = await crowd();
      const post = (user, body) =>
        fetch(`${server.url}/api/users/${encodeURIComponent(user)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain' },
          body,
        });
      assert.equal((await post(users.dave, 'rest dave')).status, 200);
      assert.equal((await post(users.alice, 'rest alice ✓')).status, 200);
      assert.equal((await post(unique('nobody'), 'nobody')).status, 200);
      // Percent-encoded path segments are decoded before matching the user.
      clients.odd = await client(combination, 'Zoë Smith ü');
      assert.equal((await post('Zoë Smith ü', 'rest odd')).status, 200);
      await assertReceived(clients, {
        a: ['rest alice ✓'],
        d1: ['rest dave'],
        d2: ['rest dave'],
        odd: ['rest odd'],
      });
    });
  });
}

describe('mixed transports and protocols', () => {
  /** One client per combination, named by the combination. */
  async function oneOfEach(userOf) {
    const clients = {};
    for (const combination of COMBINATIONS) {
      clients[combination.name] = await client(combination, userOf(combination));
    }
    return clients;
  }

  test('connections over every combination receive the same broadcasts with identical content', T, async () => {
    const clients = await oneOfEach((c) => unique(c.name.replace(/\W+/g, '-')));
    const [first, second] = [clients['WebSockets + json'], clients['LongPolling + messagepack']];
    const sse = clients['ServerSentEvents + json'];
    const text = 'mixed ✓ héllo 🌍 "quoted" \\ \u0000\u001e end\r\n\n:not a comment\ndata: x';
    const long = 'y'.repeat(20_000);

    assert.equal(await first.connection.invoke('SendToAll', text), null);
    assert.equal(await second.connection.invoke('SendToAll', long), null);
    // Typed sends, from either side.
    assert.equal(await second.connection.invoke('SendToAllExcept', [], `typed ${text}`), null);
    const users = Object.values(clients).map((c) => c.user);
    assert.equal(await sse.connection.invoke('SendToUsers', users, 'typed users'), null);
    const res = await fetch(`${server.url}/api/broadcast`, { method: 'POST', body: `rest ${text}` });
    assert.equal(res.status, 200);

    const expected = [text, long, `typed ${text}`, 'typed users', `rest ${text}`];
    const wanted = Object.fromEntries(Object.keys(clients).map((name) => [name, expected]));
    await assertReceived(clients, wanted);
  });

  test('group and user sends cross transports and protocols', T, async () => {
    const user = unique('pat');
    const group = unique('mixed');
    const members = await oneOfEach(() => user);
    const other = await client(COMBINATIONS.at(-1));
    for (const member of Object.values(members)) await member.connection.invoke('JoinGroup', group);
    assert.equal(await other.connection.invoke('SendToGroup', group, 'to group'), null);
    assert.equal(await other.connection.invoke('SendToGroups', [group], 'to groups'), null);
    assert.equal(await other.connection.invoke('SendToUser', user, 'to user'), null);
    const res = await fetch(`${server.url}/api/users/${encodeURIComponent(user)}`, { method: 'POST', body: 'rest user' });
    assert.equal(res.status, 200);
    const expected = ['to group', 'to groups', 'to user', 'rest user'];
    await assertReceived(
      { ...members, other },
      Object.fromEntries(Object.keys(members).map((name) => [name, expected])),
    );
  });
});

describe('a broadcast to many WebSockets', () => {
  // Over 16 receivers, a send leaves the socket writes to each connection's writer, whose
  // wakes do not poll the connection's read loop: every delivery must still arrive in order,
  // and every read loop must still take calls between the broadcasts.
  test('24 WebSocket connections (JSON and MessagePack) get every broadcast in order and still answer calls', T, async () => {
    const clients = {};
    for (let i = 0; i < 24; i++) {
      const protocol = i % 2 === 0 ? 'json' : 'messagepack';
      clients[`ws${i}`] = await client({ transport: 'WebSockets', protocol });
    }
    const sender = clients.ws0.connection;
    const text = unique('many');
    for (let n = 0; n < 3; n++) assert.equal(await sender.invoke('SendToAll', `${text} ${n}`), null);
    const answers = await Promise.all(
      Object.entries(clients).map(([name, c]) => c.connection.invoke('Echo', name)),
    );
    assert.deepEqual(answers, Object.keys(clients));
    assert.equal(await clients.ws23.connection.invoke('SendToAll', `${text} last`), null);
    const expected = [0, 1, 2].map((n) => `${text} ${n}`).concat(`${text} last`);
    await assertReceived(clients, Object.fromEntries(Object.keys(clients).map((name) => [name, expected])));
  });
});

describe('per-connection items and boxed streams', () => {
  for (const { name, transport, protocol } of COMBINATIONS) {
    test(`Context::items() keeps values per connection; a BoxStream streams (${name})`, async () => {
      const url = `${server.url}/hubs/test`;
      const first = await connect(url, { transport, protocol });
      const second = await connect(url, { transport, protocol });
      assert.equal(await first.invoke('Remembered'), null);
      await first.invoke('Remember', 'kept for the first');
      assert.equal(await first.invoke('Remembered'), 'kept for the first');
      assert.equal(await second.invoke('Remembered'), null, 'items belong to one connection');
      const items = [];
      await new Promise((resolve, reject) => {
        first.stream('BoxedCounter', 3).subscribe({ next: (n) => items.push(n), error: reject, complete: resolve });
      });
      assert.deepEqual(items, [0, 1, 2]);
    });
  }
});
