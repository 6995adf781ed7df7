// The official client, over every transport × hub protocol combination, against the
// `tutorial` example (the ASP.NET Core tutorial hubs ported from the hubs docs alone): news
// pushed from REST endpoints, chat rooms, a counter stream and an upload.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from '@microsoft/signalr';
import { collect, COMBINATIONS, connect, postJson, QUIET_MS, sleep, useServer } from '../lib/server.mjs';
import { runStream } from '../lib/streams.mjs';

const T = { timeout: 30_000 };
const server = useServer('tutorial');

async function publish(path, body) {
  assert.equal(await postJson(`${server.url}${path}`, body), 202, `POST ${path}`);
}

for (const { name, transport, protocol } of COMBINATIONS) {
  describe(`tutorial hubs over ${name}`, () => {
    const open = (hub, setup) => connect(`${server.url}/hubs/${hub}`, { transport, protocol, setup });

    test('news from a REST endpoint reaches every reader, a topic only its followers', T, async () => {
      let all;
      let only;
      const follower = await open('news', (c) => { all = collect(c, 'ReceiveNews'); });
      const reader = await open('news', (c) => { only = collect(c, 'ReceiveNews'); });
      await follower.invoke('Follow', 'rust');
      await publish('/api/news', { title: 'Hubs 0.1', url: 'http://localhost/hubs' });
      await publish('/api/news/rust', { title: 'Rust news', url: null });
      const [first, second] = await all.waitForCount(2);
      assert.equal(first.title, 'Hubs 0.1');
      assert.equal(first.url, 'http://localhost/hubs');
      const published = protocol === 'json' ? new Date(first.publishedAt) : first.publishedAt;
      assert.ok(published instanceof Date && !Number.isNaN(published.getTime()));
      assert.equal(second.title, 'Rust news');
      assert.equal(second.url, null);
      await only.waitForCount(1);
      await sleep(QUIET_MS);
      assert.equal(only.length, 1, 'a reader who follows nothing gets only the broadcast');
      assert.ok(reader);
    });

    test('rooms: members hear of each other and of messages, others do not', T, async () => {
      let aliceMessages;
      let aliceEntered;
      let bobMessages;
      let carolMessages;
      const alice = await open('rooms', (c) => {
        aliceMessages = collect(c, 'ReceiveMessage');
        aliceEntered = collect(c, 'UserEntered', (room, user) => `${user}@${room}`);
      });
      const bob = await open('rooms', (c) => { bobMessages = collect(c, 'ReceiveMessage'); });
      await open('rooms', (c) => { carolMessages = collect(c, 'ReceiveMessage'); });
      await alice.invoke('EnterRoom', 'lobby', 'alice');
      await bob.invoke('EnterRoom', 'lobby', 'bob');
      assert.deepEqual(await aliceEntered.waitForCount(2), ['alice@lobby', 'bob@lobby']);
      await bob.invoke('SendToRoom', 'lobby', 'bob', 'hi alice');
      const [inRoom] = await aliceMessages.waitForCount(1);
      assert.deepEqual(inRoom, { room: 'lobby', user: 'bob', text: 'hi alice' });
      await alice.invoke('SendToAll', 'alice', 'hello all');
      await carolMessages.waitForCount(1);
      assert.deepEqual(carolMessages.items[0], { room: null, user: 'alice', text: 'hello all' });
      await sleep(QUIET_MS);
      assert.equal(bobMessages.length, 1, 'the sender is not sent its own room message');
      await assert.rejects(alice.invoke('EnterRoom', ' ', 'alice'), /A room needs a name\./);
      await alice.invoke('LeaveRoom', 'lobby');
      await bob.invoke('SendToRoom', 'lobby', 'bob', 'anyone?');
      await sleep(QUIET_MS);
      assert.equal(aliceMessages.length, 2, 'a member who left hears nothing more of the room');
    });

    test('a counter streams in order; an upload is joined', T, async () => {
      const connection = await open('streams');
      assert.deepEqual(await runStream(connection.stream('Counter', 4, 5)).done, [0, 1, 2, 3]);
      const lines = new Subject();
      const joined = connection.invoke('UploadLines', lines);
      for (const line of ['one', 'two', 'three']) lines.next(line);
      lines.complete();
      assert.equal(await joined, 'one\ntwo\nthree');
    });
  });
}
