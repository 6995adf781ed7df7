// Authentication and authorization with the official client's accessTokenFactory against
// the interop example's /hubs/auth (JwtBearer with key rotation, #[authorize] rules, sync and
// async policies, #[allow_anonymous]): bad tokens of every kind get 401 at negotiate and at a
// skipNegotiation connect; valid ones connect over every transport and protocol; refused
// calls get ASP.NET's text and never run; a connection cannot be taken over by another user's
// token; expiry closes a connection when asked to; no token ever reaches the server's log.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { HubConnectionState, Subject } from '@microsoft/signalr';
import { cleanup, COMBINATIONS, connect, sleep, startServer, waitFor } from '../lib/server.mjs';
import { expectUpgradeRejected, terminateAllRaw } from '../lib/raw.mjs';

const T = { timeout: 30_000 };
const KEY = 'interop-test-key-of-more-than-32-bytes';
const ISSUER = 'hubs-interop';
const UNAUTHORIZED = (method) => `Failed to invoke '${method}' because user is unauthorized`;

let server;

before(async () => {
  server = await startServer('interop', { env: { JWT_KEY: KEY, RUST_LOG: 'trace' } });
});
after(async () => {
  await server?.stop();
});
afterEach(async (t) => {
  terminateAllRaw();
  await cleanup(t);
});

const now = () => Math.floor(Date.now() / 1000);

/** A JWT signed (HS256 unless the header says otherwise) with `key`. */
function token({ claims = {}, header = {}, key = KEY, kid = 'current' } = {}) {
  const head = { alg: 'HS256', typ: 'JWT', ...(kid ? { kid } : {}), ...header };
  const body = { sub: 'ann-id', name: 'ann', iss: ISSUER, aud: ISSUER, exp: now() + 600, ...claims };
  const unsigned = `${Buffer.from(JSON.stringify(head)).toString('base64url')}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  const signature = head.alg === 'none' ? '' : createHmac('sha256', key).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

/** A valid token's signature on someone else's claims. */
function tampered() {
  const [head, , signature] = token().split('.');
  const claims = { sub: 'ann-id', name: 'ann', role: 'Admin', iss: ISSUER, aud: ISSUER, exp: now() + 600 };
  return `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

const BAD_TOKENS = {
  'no token': null,
  'forged signature': () => token({ key: 'some-other-key-that-is-long-enough!!' }),
  'alg none': () => token({ header: { alg: 'none' } }),
  'tampered payload': tampered,
  expired: () => token({ claims: { exp: now() - 120 } }),
  'not yet valid': () => token({ claims: { nbf: now() + 120 } }),
  'wrong issuer': () => token({ claims: { iss: 'someone-else' } }),
  'wrong audience': () => token({ claims: { aud: 'someone-else' } }),
  'unknown kid': () => token({ kid: 'retired-long-ago' }),
};

const hub = (path = '/hubs/auth') => `${server.url}${path}`;

function tokenConnection(bearer, opts = {}) {
  return connect(hub(opts.path), { quiet: true, ...opts, accessTokenFactory: () => bearer });
}

describe('bad credentials: 401 with an empty body and WWW-Authenticate: Bearer', () => {
  for (const [what, make] of Object.entries(BAD_TOKENS)) {
    test(`${what}: at negotiate (header and access_token) and at a skipNegotiation connect`, T, async () => {
      const bearer = make?.();
      const headers = bearer ? { Authorization: `Bearer ${bearer}` } : {};
      const byHeader = await fetch(`${hub()}/negotiate?negotiateVersion=1`, { method: 'POST', headers });
      assert.equal(byHeader.status, 401);
      assert.equal(await byHeader.text(), '');
      assert.match(byHeader.headers.get('www-authenticate') ?? '', /^Bearer/);
      if (bearer) {
        const byQuery = await fetch(`${hub()}/negotiate?negotiateVersion=1&access_token=${bearer}`, { method: 'POST' });
        assert.equal(byQuery.status, 401);
      }
      const wsUrl = `${server.wsUrl}/hubs/auth${bearer ? `?access_token=${bearer}` : ''}`;
      const rejected = await expectUpgradeRejected(wsUrl);
      assert.equal(rejected.status, 401);
      // The official client gives up with the status in its error.
      await assert.rejects(
        tokenConnection(bearer ?? undefined, { transport: 'WebSockets', skipNegotiation: true }),
        /401|Unauthorized|WebSocket failed to connect/,
      );
    });
  }

  test('the server carries on for valid users meanwhile', T, async () => {
    const connection = await tokenConnection(token());
    assert.equal(await connection.invoke('Echo', 'still fine'), 'still fine');
  });
});

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`signed in over ${name}`, () => {
    const open = (claims, path) => tokenConnection(token({ claims }), { transport, protocol, path });

    test('Context::user() is the token\'s user; user targets use its id', T, async () => {
      const connection = await open({ role: ['Reader', 'Writer'] });
      assert.deepEqual(await connection.invoke('WhoAmI'), {
        name: 'ann',
        id: 'ann-id',
        roles: ['Reader', 'Writer'],
        userIdentifier: 'ann-id',
      });
    });

    test('a missing role gets the unauthorized completion, the body never runs, the connection goes on', T, async () => {
      const connection = await open({});
      const before = await connection.invoke('AdminRuns');
      await assert.rejects(connection.invoke('AdminOnly'), { message: UNAUTHORIZED('AdminOnly') });
      // A stream is refused before its first item.
      await assert.rejects(
        new Promise((resolve, reject) => {
          connection.stream('AdminCounter', 3).subscribe({ next: () => reject(new Error('an item arrived')), error: reject, complete: resolve });
        }),
        { message: UNAUTHORIZED('AdminCounter') },
      );
      // So is an upload, before the method reads an item.
      const items = new Subject();
      const upload = connection.invoke('AdminUpload', items);
      items.next(1);
      items.complete();
      await assert.rejects(upload, { message: UNAUTHORIZED('AdminUpload') });
      assert.equal(await connection.invoke('AdminRuns'), before);
      assert.equal(await connection.invoke('Echo', 'after'), 'after');
      assert.equal(connection.state, HubConnectionState.Connected);
      // The client still sends the refused upload's item and completion, each only once the
      // send before it is done (one POST each over Long Polling), and nobody awaits them: let
      // them go out before the test stops the connection, or they fail unhandled.
      await sleep(200);
    });

    test('any one of the roles will do; an admin may upload', T, async () => {
      const connection = await open({ role: 'Manager' });
      assert.ok((await connection.invoke('AdminOnly')) >= 1);
      const admin = await open({ role: 'Admin' });
      const items = new Subject();
      const upload = admin.invoke('AdminUpload', items);
      [1, 2, 3].forEach((n) => items.next(n));
      items.complete();
      assert.equal(await upload, 6);
    });

    test('policies: arguments, async decisions, and #[allow_anonymous]', T, async () => {
      const ann = await open({});
      assert.equal(await ann.invoke('Even', 4), 4);
      await assert.rejects(ann.invoke('Even', 3), { message: UNAUTHORIZED('Even') });
      assert.equal(await ann.invoke('SlowlyChecked'), 'allowed');
      const bob = await open({ sub: 'bob-id', name: 'bob' });
      await assert.rejects(bob.invoke('SlowlyChecked'), { message: UNAUTHORIZED('SlowlyChecked') });
      // The hub's own policy turns "muted" away from every method but the anonymous one.
      const muted = await open({ sub: 'muted-id', name: 'muted' });
      await assert.rejects(muted.invoke('Echo', 'x'), { message: UNAUTHORIZED('Echo') });
      assert.equal(await muted.invoke('Appeal'), 'heard');
    });
  });
}

describe('where tokens are read, and whose they are', () => {
  test('access_token is honoured on hub paths and ignored elsewhere', T, async () => {
    const bearer = token();
    const negotiated = await fetch(`${hub()}/negotiate?negotiateVersion=1&access_token=${bearer}`, { method: 'POST' });
    assert.equal(negotiated.status, 200);
    const byQuery = await fetch(`${server.url}/api/token-check?access_token=${bearer}`);
    assert.equal(byQuery.status, 401);
    const byHeader = await fetch(`${server.url}/api/token-check`, { headers: { Authorization: `Bearer ${bearer}` } });
    assert.deepEqual({ status: byHeader.status, body: await byHeader.text() }, { status: 200, body: 'ann' });
  });

  test('a key rotated out is still accepted by its kid', T, async () => {
    const connection = await tokenConnection(token({ key: `${KEY}-previous`, kid: 'previous' }));
    assert.equal((await connection.invoke('WhoAmI')).name, 'ann');
  });

  test("another user's token on a live long-polling connection gets 403; the connection is untouched", T, async () => {
    const ann = token();
    const negotiated = await fetch(`${hub()}/negotiate?negotiateVersion=1&access_token=${ann}`, { method: 'POST' });
    const { connectionToken } = await negotiated.json();
    const url = (bearer) => `${hub()}?id=${encodeURIComponent(connectionToken)}&access_token=${bearer}`;
    assert.equal((await fetch(url(ann))).status, 200, 'the first poll');
    const handshake = await fetch(url(ann), { method: 'POST', body: '{"protocol":"json","version":1}\x1e' });
    assert.equal(handshake.status, 200);
    const bob = token({ claims: { sub: 'bob-id', name: 'bob' } });
    assert.equal((await fetch(url(bob))).status, 403, "bob's poll");
    assert.equal((await fetch(url(bob), { method: 'POST', body: '{"type":6}\x1e' })).status, 403, "bob's send");
    assert.equal((await fetch(url(bob), { method: 'DELETE' })).status, 403, "bob's delete");
    // Ann, with a refreshed token, still gets her handshake reply.
    const refreshed = token({ claims: { exp: now() + 1200 } });
    const poll = await fetch(url(refreshed));
    assert.equal(poll.status, 200);
    assert.equal(await poll.text(), '{}\x1e');
    await fetch(url(refreshed), { method: 'DELETE' });
  });
});

describe('beyond bearer tokens', () => {
  test('HubContext looks up the principal of a connection from an axum handler', T, async () => {
    const connection = await tokenConnection(token({ claims: { sub: 'dora-id', name: 'dora' } }));
    const found = await fetch(`${server.url}/api/auth-users/${connection.connectionId}`);
    assert.deepEqual({ status: found.status, body: await found.text() }, { status: 200, body: 'dora' });
    const missing = await fetch(`${server.url}/api/auth-users/no-such-connection`);
    assert.equal(missing.status, 404);
  });

  for (const transport of ['WebSockets', 'ServerSentEvents', 'LongPolling']) {
    test(`the app's own authentication layer (FromExtensions) over ${transport}`, T, async () => {
      const url = `${server.url}/hubs/auth-layered`;
      const carol = await connect(url, { transport, quiet: true, headers: { 'X-Demo-User': 'carol' } });
      assert.equal((await carol.invoke('WhoAmI')).name, 'carol');
      await assert.rejects(connect(url, { transport, quiet: true }), /401|Unauthorized/);
    });
  }
});

describe('expiry', () => {
  test('with close_on_authentication_expiration, the connection closes when its token expires', T, async () => {
    const connection = await tokenConnection(token({ claims: { exp: now() + 2 } }), { path: '/hubs/auth-expiring' });
    let closedWith;
    connection.onclose((error) => {
      closedWith = error?.message ?? 'closed';
    });
    await waitFor(() => closedWith !== undefined, 10_000, 'the expiry close');
    assert.match(closedWith, /Connection closed with an error/);
  });

  test('without it, the connection outlives its token', T, async () => {
    const connection = await tokenConnection(token({ claims: { exp: now() + 2 } }));
    await sleep(3_500);
    assert.equal(await connection.invoke('Echo', 'later'), 'later');
  });
});

test('no token text reaches the server log, at trace level', T, async () => {
  const bearer = token({ claims: { sub: 'log-id', name: 'log' } });
  const connection = await tokenConnection(bearer, { transport: 'LongPolling' });
  await connection.invoke('Echo', 'x');
  await connection.stop();
  for (const [, make] of Object.entries(BAD_TOKENS)) {
    const bad = make?.();
    if (bad) await fetch(`${hub()}/negotiate?access_token=${bad}`, { method: 'POST' });
  }
  await sleep(200);
  const log = server.log(Number.MAX_SAFE_INTEGER);
  assert.ok(log.length > 0, 'the server logged at trace level');
  for (const secret of [bearer, bearer.split('.')[2], tampered().split('.')[1]]) {
    assert.ok(!log.includes(secret), 'a token (or its signature) appears in the server log');
  }
});
