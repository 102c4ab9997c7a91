/**
 * Promises created per call (and per stream event), counted with an `async_hooks` init hook on the
 * bare client and on the plugin in its full configuration. Under Node 20 every promise pays the
 * async hooks an `AsyncLocalStorage` turns on; each one the plugin adds is a fixed cost per call
 * (or per event) that no change inside its own functions removes. Counts, not timings: the same on
 * every run of one SDK version.
 */
import { createHook } from 'node:async_hooks';
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { client, CONVERSE_OP, INVOKE_OP, STREAM_OP, type Operation } from './clients.js';
import { meteredPlugin } from './plugin-config.js';

export interface PromiseCount {
  readonly operation: string;
  /** Promises per call on the bare client and with the plugin. */
  readonly bare: number;
  readonly plugin: number;
  /** Stream events per call (0 for a unary call): the stream's counts are also given per event. */
  readonly events: number;
}

/** Promises per call, bare and with the plugin, over `calls` calls after a warm-up (the hook runs only while counting). */
export async function promiseCounts(smoke: boolean): Promise<PromiseCount[]> {
  const metered = meteredPlugin('producer');
  let created = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') created++;
    },
  });
  const count = async (c: BedrockRuntimeClient, op: Operation, calls: number): Promise<number> => {
    for (let i = 0; i < 3; i++) await op.send(c);
    created = 0;
    hook.enable();
    try {
      for (let i = 0; i < calls; i++) await op.send(c);
    } finally {
      hook.disable();
    }
    return created / calls;
  };
  const out: PromiseCount[] = [];
  for (const op of [CONVERSE_OP, INVOKE_OP, STREAM_OP]) {
    const calls = op === STREAM_OP ? (smoke ? 1 : 4) : smoke ? 5 : 100;
    const bare = await count(client(op.canned), op, calls);
    const plugin = await count(client(op.canned, metered.finops), op, calls);
    out.push({ operation: op.name, bare, plugin, events: op === STREAM_OP ? streamEvents(op) : 0 });
  }
  await metered.finops.shutdown();
  return out;
}

/** The number of events in the canned stream's name ("… (1,000 events, drained)"). */
function streamEvents(op: Operation): number {
  const m = /\(([\d,]+) events/.exec(op.name);
  if (m?.[1] === undefined) throw new Error(`no event count in "${op.name}"`);
  return Number(m[1].replace(/,/g, ''));
}

const fmt1 = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** One sentence per operation: promises per call, bare and with the plugin (per event for the stream). */
export function promiseLines(counts: readonly PromiseCount[]): string[] {
  return [
    'Promises created per call (an `async_hooks` init hook counting while the calls run; with an `AsyncLocalStorage` in use, Node 20 runs its hooks for each one):',
    '',
    '| Operation | bare client | bedrock-finops | added |',
    '|---|---|---|---|',
    ...counts.map((c) => {
      const perEvent = c.events > 0 ? ` (per event: ${fmt1(c.bare / c.events)} and ${fmt1(c.plugin / c.events)})` : '';
      const added = c.plugin - c.bare;
      return `| ${c.operation} | ${fmt1(c.bare)} | ${fmt1(c.plugin)}${perEvent} | +${fmt1(added)} (+${((100 * added) / c.bare).toFixed(1)}%) |`;
    }),
  ];
}
