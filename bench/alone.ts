/**
 * The plugin's own work per call, measured alone: its middleware around an in-process `next()`,
 * no SDK. Variants interleaved block by block, medians; the target is ≤ 10 µs.
 */
import { aloneTimed, pluginHandler } from './middleware-alone.js';
import { meteredPlugin } from './plugin-config.js';
import { fmt, median, range } from './stats.js';

export interface AloneSummary {
  readonly producerScoped: number;
  readonly producer: number;
  readonly instrumentsScoped: number;
  readonly scopeOnly: number;
}

export async function alone(smoke: boolean): Promise<{ lines: string[]; summary: AloneSummary }> {
  const producer = meteredPlugin('producer');
  const instruments = meteredPlugin('instruments');
  const off = meteredPlugin('off');
  const producerHandler = pluginHandler(producer.finops);
  const instrumentsHandler = pluginHandler(instruments.finops);
  const offHandler = pluginHandler(off.finops);
  // The attribution scope alone, around the cheapest possible call: what `withAttribution` costs.
  const nothing = (): Promise<unknown> => Promise.resolve(undefined);
  const variants = [
    { key: 'producerScoped', label: "`'producer'`, scope per call", run: (n: number) => aloneTimed(producerHandler, n, true) },
    { key: 'producer', label: "`'producer'`, no per-call scope", run: (n: number) => aloneTimed(producerHandler, n, false) },
    { key: 'instrumentsScoped', label: 'default (`true`: SDK histogram instruments), scope per call', run: (n: number) => aloneTimed(instrumentsHandler, n, true) },
    { key: 'offScoped', label: '`genAiHistograms: false`, scope per call', run: (n: number) => aloneTimed(offHandler, n, true) },
    { key: 'scopeOnly', label: 'the scope alone (`withAttribution` around a resolved promise, no plugin)', run: (n: number) => aloneTimed(nothing, n, true) },
  ] as const;
  const n = smoke ? 500 : 5_000;
  const rounds = smoke ? 2 : 24;
  const results = new Map<string, { wall: number[]; cpu: number[] }>(variants.map((v) => [v.key, { wall: [], cpu: [] }]));
  for (const v of variants) await v.run(n);
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(r + i) % variants.length]!;
      const us = await v.run(n);
      results.get(v.key)!.wall.push(us.wall);
      results.get(v.key)!.cpu.push(us.cpu);
    }
  await Promise.all([producer.finops.shutdown(), instruments.finops.shutdown(), off.finops.shutdown()]);
  const lines = [
    `Full configuration as above, Converse-shaped, ${rounds} interleaved blocks of ${n.toLocaleString('en-US')} calls per variant (median block, range in brackets); target ≤ 10 µs per call for the first row:`,
    '',
    '| Plugin configuration | µs per call, wall time | µs per call, CPU time |',
    '|---|---|---|',
    ...variants.map((v) => {
      const r = results.get(v.key)!;
      return `| ${v.label} | **${fmt(median(r.wall), 2)}** (${range(r.wall)}) | ${fmt(median(r.cpu), 2)} (${range(r.cpu)}) |`;
    }),
  ];
  const m = (k: string): number => median(results.get(k)?.wall ?? []);
  return { lines, summary: { producerScoped: m('producerScoped'), producer: m('producer'), instrumentsScoped: m('instrumentsScoped'), scopeOnly: m('scopeOnly') } };
}
