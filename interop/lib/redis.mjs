// A real redis-server for the multi-node tests: started on a free port with no persistence,
// killed and restarted on the same port at will.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { freePort, sleep } from './server.mjs';

/** The redis-server binary: REDIS_SERVER, else the one on PATH. */
export const redisServerBin = process.env.REDIS_SERVER ?? 'redis-server';

/** Whether redis-server can run here. */
export function haveRedisServer() {
  return spawnSync(redisServerBin, ['--version'], { stdio: 'ignore' }).status === 0;
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Sends one inline command and resolves with the raw reply (for INFO, PUBSUB, ...).
 */
export function redisCommand(port, ...args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const encoded = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;
    socket.once('connect', () => socket.write(encoded));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // Good enough for the short replies the tests read: wait for a quiet moment.
      clearTimeout(socket.quiet);
      socket.quiet = setTimeout(() => {
        socket.destroy();
        resolve(reply);
      }, 50);
    });
    socket.once('error', reject);
  });
}

/**
 * Starts redis-server on a free port (or `port`); resolves with
 * { port, url, kill(), restart(), process } once it accepts connections.
 */
export async function startRedis({ port } = {}) {
  if (!haveRedisServer()) {
    throw new Error(`${redisServerBin} is not installed (Debian: apt-get install redis-server)`);
  }
  port ??= await freePort();
  const child = spawn(
    redisServerBin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout.on('data', (c) => (log += c));
  child.stderr.on('data', (c) => (log += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`redis-server did not start on port ${port}:\n${log}`);
    }
    await sleep(20);
  }
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    log: () => log,
    /** Kills it at once (SIGKILL): every client connection drops. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    /** Kills it and starts a new one on the same port. */
    async restart() {
      await redis.kill();
      return startRedis({ port });
    },
  };
  return redis;
}
