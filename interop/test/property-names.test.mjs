// JSON property names as ASP.NET Core's JSON hub protocol has them by default: a DTO's
// fields of several words reach the official client camelCase (`displayName`), and what
// the client sends is matched without regard to case, so camelCase, PascalCase and the
// declared snake_case all bind. MessagePack keeps the declared names, as ASP.NET Core's
// MessagePack protocol does. Over every transport that carries JSON.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, connect, usedTransport, useServer } from '../lib/server.mjs';

const T = { timeout: 30_000 };

const CAMEL = { displayName: 'Ann', loginCount: 3, homeTown: { postalCode: '75001' } };
const PASCAL = { DisplayName: 'Ann', LoginCount: 3, HomeTown: { PostalCode: '75001' } };
const DECLARED = { display_name: 'Ann', login_count: 3, home_town: { postal_code: '75001' } };

/** `EchoProfile` also sends `Profile`; tests about results only take it and drop it. */
const ignoreProfiles = (connection) => connection.on('Profile', () => {});

const server = useServer('interop');

for (const transport of ['WebSockets', 'ServerSentEvents', 'LongPolling']) {
  describe(`${transport} + json`, () => {
    test('a DTO arrives camelCase, as a result and as a client invocation', T, async () => {
      let profiles;
      const connection = await connect(`${server.url}/hubs/test`, {
        transport,
        protocol: 'json',
        setup: (c) => {
          profiles = collect(c, 'Profile');
        },
      });
      assert.equal(usedTransport(connection), transport);
      assert.deepEqual(await connection.invoke('EchoProfile', CAMEL), CAMEL);
      assert.deepEqual((await profiles.waitForCount(1))[0], CAMEL);
    });

    test('camelCase, PascalCase and declared names from the client all bind', T, async () => {
      const connection = await connect(`${server.url}/hubs/test`, { transport, protocol: 'json', setup: ignoreProfiles });
      for (const sent of [CAMEL, PASCAL, DECLARED]) {
        assert.deepEqual(await connection.invoke('EchoProfile', sent), CAMEL, JSON.stringify(sent));
      }
      const none = { ...PASCAL, HomeTown: null };
      assert.deepEqual(await connection.invoke('EchoProfile', none), { ...CAMEL, homeTown: null });
    });
  });
}

describe('WebSockets + messagepack', () => {
  test('names stay as declared', T, async () => {
    const connection = await connect(`${server.url}/hubs/test`, {
      protocol: 'messagepack',
      setup: ignoreProfiles,
    });
    assert.deepEqual(await connection.invoke('EchoProfile', DECLARED), DECLARED);
  });
});
