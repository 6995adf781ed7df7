// A TCP proxy on loopback that can cut every connection through it at once, to drop sockets
// the way a flaky network does (no WebSocket close frame, no FIN from the server side).
import net from 'node:net';

export async function startProxy(targetPort) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.on('data', (chunk) => b.write(chunk));
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.on('error', () => b.destroy());
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    url: `http://127.0.0.1:${server.address().port}`,
    /** Destroys every proxied connection, in both directions. */
    cutAll() {
      const count = sockets.size;
      for (const socket of sockets) socket.resetAndDestroy?.() ?? socket.destroy();
      return count;
    },
    async close() {
      this.cutAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
