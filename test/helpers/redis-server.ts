import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './processes.js';

/** A real redis-server on a free loopback port, with an append-only file so a restart keeps its data. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (an outage). */
  kill(): Promise<void>;
  /** Starts it again on the same port, from its append-only file. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** Stops it and removes its files. */
  stop(): Promise<void>;
}

/** Waits until a redis-server on `port` answers PING. */
export async function redisReady(port: number): Promise<void> {
  const { Redis } = await import('ioredis');
  await waitFor(
    'redis-server to accept connections',
    async () => {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } finally {
        probe.disconnect();
      }
    },
    20_000,
    50,
  );
}

/** Starts a redis-server; `args` are extra server options (e.g. `['--maxmemory-policy', 'volatile-lru']`). */
export async function startRedis(args: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, ...args], { stdio: 'ignore' });
    await redisReady(port);
  };
  const kill = () =>
    new Promise<void>((resolve) => {
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) {
        resolve();
        return;
      }
      c.once('exit', () => resolve());
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    });
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
