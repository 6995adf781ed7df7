// The official client, over every transport × hub protocol combination, against the
// `notifications` example: services push
// through the hub context to everyone, to one user's connections, and to an order's followers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, COMBINATIONS, connect, postJson, QUIET_MS, sleep, useServer } from '../lib/server.mjs';

const T = { timeout: 30_000 };
const server = useServer('notifications');

async function post(path, body) {
  assert.equal(await postJson(`${server.url}${path}`, body), 202, `POST ${path}`);
}

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`notifications over ${name}`, () => {
    async function client(user) {
      let notes;
      let orders;
      const query = user ? `?user=${encodeURIComponent(user)}` : '';
      const connection = await connect(`${server.url}/hubs/notifications${query}`, {
        transport,
        protocol,
        setup(c) {
          notes = collect(c, 'ReceiveNotification');
          orders = collect(c, 'OrderStatusChanged');
        },
      });
      return { connection, notes, orders };
    }

    test('a broadcast reaches every client with a typed notification', T, async () => {
      const a = await client('alice');
      const anonymous = await client();
      const before = Date.now();
      await post('/api/notifications/broadcast', { title: 'Maintenance', message: 'at noon' });
      for (const c of [a, anonymous]) {
        const [note] = await c.notes.waitForCount(1);
        assert.equal(note.title, 'Maintenance');
        assert.equal(note.message, 'at noon');
        assert.equal(typeof note.id, 'number');
        // JSON carries an ISO string, MessagePack a timestamp the client turns into a Date.
        const created = protocol === 'json' ? new Date(note.createdAt) : note.createdAt;
        assert.ok(created instanceof Date && !Number.isNaN(created.getTime()), `createdAt: ${note.createdAt}`);
        assert.ok(Math.abs(created.getTime() - before) < 60_000);
      }
    });

    test('a user notification reaches all of that user\'s connections and nobody else', T, async () => {
      const phone = await client('bob');
      const laptop = await client('bob');
      const other = await client('carol');
      const anonymous = await client();
      await post('/api/notifications/users/bob', { title: 'Hi Bob', message: 'your order shipped' });
      for (const c of [phone, laptop]) {
        const [note] = await c.notes.waitForCount(1);
        assert.equal(note.title, 'Hi Bob');
      }
      await sleep(QUIET_MS);
      assert.equal(phone.notes.length, 1);
      assert.equal(other.notes.length, 0);
      assert.equal(anonymous.notes.length, 0);
    });

    test('order followers get OrderStatusChanged until they unsubscribe', T, async () => {
      const follower = await client('dave');
      const bystander = await client('erin');
      await follower.connection.invoke('SubscribeToOrder', 'A-17');
      await post('/api/orders/A-17/status', { status: 'shipped' });
      assert.deepEqual(await follower.orders.waitForCount(1), [['A-17', 'shipped']]);
      await follower.connection.invoke('UnsubscribeFromOrder', 'A-17');
      await post('/api/orders/A-17/status', { status: 'delivered' });
      await sleep(QUIET_MS);
      assert.deepEqual(follower.orders.items, [['A-17', 'shipped']]);
      assert.equal(bystander.orders.length, 0);
    });
  });
}

test('CORS for one frontend origin with credentials: exact origin, credentials, the client\'s headers', async () => {
  const preflight = (origin) =>
    fetch(`${server.url}/hubs/notifications/negotiate?negotiateVersion=1`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-requested-with,x-signalr-user-agent,authorization',
      },
    });
  const allowed = await preflight('http://localhost:5173');
  assert.equal(allowed.status, 200);
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:5173');
  assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(allowed.headers.get('access-control-allow-headers'), 'x-requested-with,x-signalr-user-agent,authorization');
  assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
  // Another origin is not granted: the one origin named is not its own, so browsers refuse.
  const other = await preflight('http://evil.example');
  assert.notEqual(other.headers.get('access-control-allow-origin'), 'http://evil.example');
});
