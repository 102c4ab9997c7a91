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
  /** Stops it and removes its files. */
  stop(): Promise<void>;
}

async function ready(port: number): Promise<void> {
  const { Redis } = await import('ioredis');
  await waitFor('redis-server to accept connections', async () => {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG' ? true : undefined;
    } finally {
      probe.disconnect();
    }
  }, 20_000, 50);
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' });
    await ready(port);
  };
  const kill = () =>
    new Promise<void>((resolve) => {
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) {
        resolve();
        return;
      }
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
