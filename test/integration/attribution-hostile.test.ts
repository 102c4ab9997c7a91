import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution } from '../../src/index.js';
import { converseReply, makeClient, on, say, useMockBedrock } from '../helpers/bedrock.js';
import { perTenant } from '../helpers/per-tenant.js';

const server = useMockBedrock();
const MODEL = 'amazon.nova-micro-v1:0';


const untrustedTags = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`tag${i}`, 'x']));

describe('rule 1: a trusted key written after many untrusted ones keeps its per budget', () => {
  it('{ ...40 untrusted tags, tenant_id } is charged to tenant_id: 2 calls admitted, 3 refused, the other tenant untouched', async () => {
    const { records, send, outcomes, used } = perTenant(server);
    for (let i = 0; i < 4; i++) await send({ ...untrustedTags, tenant_id: 'acme' });
    await send({ ...untrustedTags, tenant_id: 'acme' }, 'command');
    await send({ ...untrustedTags, tenant_id: 'globex' });
    expect(outcomes).toEqual(['sent', 'sent', 'refused as acme', 'refused as acme', 'refused as acme', 'sent']);
    expect(await used()).toEqual([
      ['acme', 40],
      ['globex', 20],
    ]);
    expect(records.map((r) => [r.attribution.tenant_id, Object.keys(r.attribution).length, r.attribution.tag39])).toEqual([
      ['acme', 32, 'x'],
      ['acme', 32, 'x'],
      ['globex', 32, 'x'],
    ]);
  });
});

describe('rule 2: { tenant_id: trusted, ...rest } is charged to the trusted tenant whatever aliases rest holds', () => {
  it('5 calls whose rest spells tenant_id another way are charged to acme (2 sent, 3 refused as acme); globex is charged nothing', async () => {
    const { records, send, outcomes, used } = perTenant(server);
    const aliases = ['tenantId', 'TENANT_ID', 'tenant-id', 'Tenant Id', 'tenant\u200bid'];
    for (const alias of aliases) {
      // The app strips the exact key from the untrusted tags, then writes the trusted one first.
      const { tenant_id: _stripped, ...rest } = { [alias]: 'globex' } as Record<string, string>;
      await send({ tenant_id: 'acme', ...rest }, alias === 'tenant-id' ? 'command' : 'scope');
    }
    await send({ tenant_id: 'globex' });
    expect(outcomes).toEqual(['sent', 'sent', 'refused as acme', 'refused as acme', 'refused as acme', 'sent']);
    expect(await used()).toEqual([
      ['acme', 40],
      ['globex', 20],
    ]);
    expect(records.map((r) => r.attribution)).toEqual([{ tenant_id: 'acme' }, { tenant_id: 'acme' }, { tenant_id: 'globex' }]);
  });

  it('a dotted spelling (tenant.id) in rest does not drop tenant_id either', async () => {
    const { records, send, outcomes, used } = perTenant(server);
    await send({ tenant_id: 'acme', 'tenant.id': 'globex' });
    await send({ tenant_id: 'acme', 'Tenant.Id': 'globex' });
    await send({ tenant_id: 'acme', 'tenant.id': 'globex' });
    expect(outcomes).toEqual(['sent', 'sent', 'refused as acme']);
    expect(await used()).toEqual([['acme', 40]]);
    expect(records.map((r) => r.attribution)).toEqual([{ tenant_id: 'acme' }, { tenant_id: 'acme' }]);
  });
});

describe('budgets.check() merges as a call does', () => {
  it('answers for the counters a call with the same attribution would be charged to: tenant.id under a default tenant_id is one key, the default', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 10, outputTokens: 10 })));
    // A budget per tenant.id; the plugin's default attribution sets tenant_id (the same Prometheus label).
    const finops = bedrockFinOps({ attribution: { tenant_id: 'acme' }, estimator: () => 10, budgets: [{ name: 'per-dotted', per: 'tenant.id', limit: { tokens: 50 }, window: 'day' }] });
    const client = makeClient(finops, { maxAttempts: 1 });
    const hostile = { 'tenant.id': 'globex' };
    // A call: tenant_id wins, tenant.id is dropped, so the per-dotted budget does not apply: no counter is charged.
    await withAttribution(hostile, () => client.send(new ConverseCommand(say('hi', MODEL, 10))));
    expect(await finops.budgets.status()).toEqual([]);
    // check() says the same: no budget matches (it used to answer for a 'globex' counter no call would use).
    const answer = await finops.budgets.check(hostile, MODEL);
    expect(answer.budgets).toEqual([]);
    expect(answer.allowed).toBe(true);
  });
});

describe('rule 3: the Prometheus exposition of hostile keys', () => {
  async function exposition(attributions: Record<string, string>[]): Promise<string> {
    server.use(on('converse', () => converseReply({ inputTokens: 100, outputTokens: 10 })));
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    const client = makeClient(bedrockFinOps({ meterProvider }), { maxAttempts: 1 });
    for (const a of attributions) await withAttribution(a, () => client.send(new ConverseCommand(say())));
    const text = await new Promise<string>((resolve) => {
      const res = { statusCode: 0, setHeader: () => undefined, end: (s: string) => resolve(s) };
      exporter.getMetricsRequestHandler({} as never, res as unknown as ServerResponse);
    });
    await meterProvider.shutdown();
    return text;
  }

  /** Label names repeated within one sample line. */
  function duplicateLabels(text: string): string[] {
    const out: string[] = [];
    for (const line of text.split('\n')) {
      const labels = /\{(.*)\}/.exec(line)?.[1];
      if (line.startsWith('#') || labels === undefined) continue;
      const names = [...labels.matchAll(/(?:^|,)([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((m) => m[1] as string);
      for (const [i, n] of names.entries()) if (names.indexOf(n) !== i) out.push(`${n} in ${line.slice(0, 80)}`);
    }
    return out;
  }

  it('tenant.id beside tenant_id: one tenant_id label, the trusted value, whatever the order', async () => {
    const text = await exposition([
      { tenant_id: 'trusted', 'tenant.id': 'evil' },
      { 'tenant.id': 'evil', tenant_id: 'trusted' },
    ]);
    expect(duplicateLabels(text)).toEqual([]);
    expect(text).toMatch(/^bedrock_finops_calls_total\{tenant_id="trusted",.*\} 2$/m);
    expect(text).not.toContain('"evil"');
  });

  it.each(['le', 'quantile', 'otel_scope_name', 'gen_ai_request_model', 'bedrock_finops_token_type', 'bedrock_finops_outcome', 'server_port'])(
    'a key %j: dropped, no duplicate label name, the library labels keep their values',
    async (key) => {
      const text = await exposition([{ [key]: 'evil', team: 'kept' }]);
      expect(duplicateLabels(text)).toEqual([]);
      expect(text).toMatch(/^bedrock_finops_calls_total\{team="kept",.*server_port="443",bedrock_finops_outcome="success",otel_scope_name="bedrock-finops",.*\} 1$/m);
      expect(text).toMatch(/^gen_ai_client_token_usage_bucket\{team="kept",.*gen_ai_request_model="amazon.nova-micro-v1:0",.*,le="1"\} 0$/m);
      expect(text).not.toContain('"evil"');
    },
  );
});
