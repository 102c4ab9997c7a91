/**
 * Per-request attribution in an HTTP server: an Express middleware puts the caller's tenant and
 * feature (from request headers) into a `withAttribution` scope, so every Bedrock call made while
 * handling the request is attributed, however deep in the code it happens. Tenant ids are
 * untrusted: bedrock-finops bounds them and caps how many reach metrics.
 *
 *   npx tsx examples/http-attribution.ts     # starts the server, sends a few requests, prints the records
 */
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import express, { type NextFunction, type Request, type Response } from 'express';
import { bedrockFinOps, withAttribution, type UsageRecord } from 'bedrock-finops';
import { startBedrockSimulator } from 'bedrock-finops/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const sim = await startBedrockSimulator();
const records: UsageRecord[] = [];
const bedrock = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
bedrock.middlewareStack.use(bedrockFinOps({ attribution: { team: 'support' }, onUsage: (r) => records.push(r) }));

/** The attribution middleware: one scope per request, from headers you trust to identify the caller. */
function attribution(req: Request, _res: Response, next: NextFunction): void {
  withAttribution({ tenant: req.get('x-tenant-id') ?? 'anonymous', feature: req.path.slice(1) || 'root' }, next);
}

// Somewhere deep in the application: no attribution code here.
async function summarize(text: string): Promise<string> {
  const out = await bedrock.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: `Summarize: ${text}` }] }], inferenceConfig: { maxTokens: 32 } }));
  return out.output?.message?.content?.[0]?.text ?? '';
}

const app = express();
app.use(attribution);
app.get('/summarize', async (req, res) => {
  res.json({ summary: await summarize(typeof req.query.q === 'string' ? req.query.q : '') });
});
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

for (const tenant of ['acme', 'globex', 'acme']) await fetch(`${base}/summarize?q=${tenant}+quarterly+report`, { headers: { 'x-tenant-id': tenant } });
server.close();
await sim.close();
for (const r of records) console.log(JSON.stringify({ attribution: r.attribution, input: r.inputTokens, output: r.outputTokens, cost: r.costUsd === undefined ? null : `$${r.costUsd.toFixed(6)}` }));
