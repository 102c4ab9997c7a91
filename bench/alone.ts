/**
 * The plugin's own work per call, measured alone: its middleware around an in-process `next()`,
 * no SDK. Variants interleaved block by block, medians; the target is ≤ 10 µs.
 */
import { aloneBlock, pluginHandler } from './middleware-alone.js';
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
    { key: 'producerScoped', label: "`'producer'`, scope per call", run: (n: number) => aloneBlock(producerHandler, n, true) },
    { key: 'producer', label: "`'producer'`, no per-call scope", run: (n: number) => aloneBlock(producerHandler, n, false) },
    { key: 'instrumentsScoped', label: 'default (`true`: SDK histogram instruments), scope per call', run: (n: number) => aloneBlock(instrumentsHandler, n, true) },
    { key: 'offScoped', label: '`genAiHistograms: false`, scope per call', run: (n: number) => aloneBlock(offHandler, n, true) },
    { key: 'scopeOnly', label: 'the scope alone (`withAttribution` around a resolved promise, no plugin)', run: (n: number) => aloneBlock(nothing, n, true) },
  ] as const;
  const n = smoke ? 500 : 5_000;
  const rounds = smoke ? 2 : 24;
  const results = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  for (const v of variants) await v.run(n);
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(r + i) % variants.length]!;
      results.get(v.key)!.push(await v.run(n));
    }
  await Promise.all([producer.finops.shutdown(), instruments.finops.shutdown(), off.finops.shutdown()]);
  const lines = [
    `Full configuration as above, Converse-shaped, ${rounds} interleaved blocks of ${n.toLocaleString('en-US')} calls per variant (median block, range in brackets); target ≤ 10 µs per call for the first row:`,
    '',
    '| Plugin configuration | µs per call |',
    '|---|---|',
    ...variants.map((v) => `| ${v.label} | **${fmt(median(results.get(v.key)!), 2)}** (${range(results.get(v.key)!)}) |`),
  ];
  const m = (k: string): number => median(results.get(k) ?? []);
  return { lines, summary: { producerScoped: m('producerScoped'), producer: m('producer'), instrumentsScoped: m('instrumentsScoped'), scopeOnly: m('scopeOnly') } };
}
