// A TCP proxy on loopback that can go silent: after freeze() it forwards nothing either way
// and stops reading, yet closes nothing, so both ends see a half-open connection (as when a
// network drops every packet) until their own timeouts act.
import net from 'node:net';

export async function startBlackholeProxy(targetPort) {
  const sockets = new Set();
  let frozen = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]]) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
      from.on('close', () => {
        sockets.delete(from);
        if (!frozen) to.destroy();
      });
      from.on('error', () => {});
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    url: `http://127.0.0.1:${server.address().port}`,
    /** Stops forwarding and reading on every connection, closing none. */
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
      return sockets.size;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
