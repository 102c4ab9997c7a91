import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cluster, Redis } from 'ioredis';
import { freePort, waitFor } from './processes.js';
import { redisReady } from './redis-server.js';

const run = promisify(execFile);

/** A real Redis Cluster of three masters on loopback (no replicas), created by the test. */
export interface RedisCluster {
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((p) => redisReady(p)));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    await waitFor(
      'the cluster to be ready',
      async () => {
        const { stdout } = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info']);
        return stdout.includes('cluster_state:ok') ? true : undefined;
      },
      30_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
}

/**
 * The master connection serving `{tag}`'s slot and its redis-server process id, as the cluster
 * itself says (CLUSTER SLOTS), not from the client's slot cache, which may not be loaded yet when
 * a test starts.
 */
export async function clusterMasterOf(client: Cluster, tag: string): Promise<{ node: Redis; pid: number }> {
  // The client may be between connections (it refreshes its node list after a node was paused,
  // slower on a loaded machine): its master connections are waited for, up to 20 s.
  return waitFor(`a master of the cluster serving {${tag}}`, () => masterOf(client, tag), 20_000, 100);
}

async function masterOf(client: Cluster, tag: string): Promise<{ node: Redis; pid: number }> {
  const first = client.nodes('master')[0];
  if (first === undefined) throw new Error('the cluster client has no master connection');
  const slot = await first.cluster('KEYSLOT', `{${tag}}`);
  const ranges = (await first.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const range = ranges.find(([start, end]) => slot >= start && slot <= end);
  const [host, port] = range?.[2] ?? [];
  const node = client.nodes('master').find((n) => n.options.port === port && (n.options.host ?? '') === host);
  if (node === undefined) throw new Error(`no master for slot ${slot}`);
  return { node, pid: Number(/process_id:(\d+)/.exec(await node.info('server'))?.[1]) };
}
