import { ConverseCommand, CountTokensCommand } from '@aws-sdk/client-bedrock-runtime';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { HttpResponse } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { converseReply, makeClient, on, useMockBedrock } from '../helpers/bedrock.js';

// An estimator that asks Bedrock's CountTokens through the SDK, behind a gateway that answers an error as
// { "code": "<the prompt>" }: the SDK's exception carries that code, and the estimator's failure was logged with its
// first 32 characters.

const PROMPT = 'PLEASE SUMMARISE MY SECRET MERGER MEMO';
const server = useMockBedrock();
afterEach(() => {
  diag.disable();
});

describe('fetch adversarial (8): an SDK error’s code from a gateway’s body', () => {
  it('is not logged when the estimator that met it through CountTokens fails (before: "Error (PLEASE SUMMARISE MY SECRET MERGE)")', async () => {
    const logs: string[] = [];
    const log = (m: string) => logs.push(m);
    diag.setLogger({ error: log, warn: log, info: log, debug: log, verbose: log }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
    server.use(
      on('count-tokens', () => new HttpResponse(JSON.stringify({ code: PROMPT }), { status: 400, headers: { 'content-type': 'application/json' } })),
      on('converse', () => converseReply({ inputTokens: 7, outputTokens: 3 })),
    );
    const bare = makeClient(undefined, { maxAttempts: 1 });
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({
      budgets: [{ name: 'total', limit: { tokens: 1_000_000 }, window: 'total' }],
      onUsage: (r) => records.push(r),
      estimator: async ({ modelId }) => (await bare.send(new CountTokensCommand({ modelId, input: { converse: { messages: [{ role: 'user', content: [{ text: PROMPT }] }] } } }))).inputTokens ?? 0,
    });
    await makeClient(finops, { maxAttempts: 1 }).send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: PROMPT }] }] }));
    // The call goes on with the heuristic: recorded 7 + 3 tokens; the failure is said once, without the prompt.
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([[7, 3]]);
    const said = logs.filter((l) => l.startsWith('bedrock-finops: the input estimator'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/: Error$/);
    expect(logs.join('\n')).not.toMatch(/SECRET|SUMMARISE/);
  });
});
