import { ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, isConfigurationError, type BedrockFinOpsOptions } from '../../src/index.js';
import { converseReply, drain, makeClient, on, say, useMockBedrock } from '../helpers/bedrock.js';
import { converseFrames, countConverse, HAIKU, hostileSetup, settleSoon, slowTail } from '../helpers/adversary.js';

const server = useMockBedrock();

const thrown = (options: unknown): string => {
  try {
    bedrockFinOps(options as BedrockFinOpsOptions);
    return 'accepted';
  } catch (e) {
    return isConfigurationError(e) ? e.message : `not a ConfigurationError: ${String(e)}`;
  }
};

describe('configuration errors throw at construction, naming the field', () => {
  const rule = { name: 'r', limit: { tokens: 1 }, window: 'day' };
  it.each([
    ['a misspelt option', { budget: [] }, /budget.*did you mean "budgets"/],
    ['a misspelt limit type', { budgets: [{ ...rule, limit: { costUSD: 1 } }] }, /limit\.costUSD.*did you mean "costUsd"/],
    ['a misspelt drain bound', { drainAbandonedStreams: { timeout: 5 } }, /drainAbandonedStreams\.timeout.*did you mean "timeoutMs"/],
    ['a misspelt price field', { pricing: { overrides: { m: { input: 1, ouput: 2 } } } }, /ouput.*did you mean "output"/],
    ['a camelCase match key', { budgets: [{ ...rule, match: { tenantId: 'a' } }] }, /match\.tenantId.*"tenant_id"/],
    ['a capitalised per key', { budgets: [{ ...rule, per: 'Team' }] }, /per.*"team"/],
    ['a __proto__ match key', { budgets: [{ ...rule, match: JSON.parse('{"__proto__": "x"}') as object }] }, /match\.__proto__/],
    ['a NaN limit', { budgets: [{ ...rule, limit: { tokens: Number.NaN } }] }, /limit\.tokens/],
    ['an Infinity cost limit', { budgets: [{ ...rule, limit: { costUsd: Number.POSITIVE_INFINITY } }] }, /limit\.costUsd/],
    ['a rule name with a control character', { budgets: [{ ...rule, name: 'a\u0001b' }] }, /budgets\[0\]\.name/],
    ['a reserved attribution key', { attribution: { 'gen_ai.system': 'x' } }, /attribution\.gen_ai\.system/],
    ['a non-function onUsage', { onUsage: 'log' }, /onUsage/],
    ['a negative drain timeout', { drainAbandonedStreams: { timeoutMs: -1 } }, /drainAbandonedStreams\.timeoutMs/],
  ])('%s', (_, options, message) => {
    expect(thrown(options)).toMatch(message);
  });

  it('a default attribution value that is not a string throws naming the key', () => {
    // Accepted: the value is dropped without a word, so every call silently lacks team (and a budget matching it never applies).
    expect(thrown({ attribution: { team: ['search'] } })).toMatch(/attribution\.team/);
  });

  it('a drain timeout longer than a timer can wait is refused, or honoured — never silently cut to 1 ms', async () => {
    // Node caps setTimeout at 2^31 − 1 ms: a larger delay fires after 1 ms (TimeoutOverflowWarning).
    server.use(on('converse-stream', () => slowTail(converseFrames({ inputTokens: 1_000, outputTokens: 50 }), 2, 50)));
    const options = { drainAbandonedStreams: { timeoutMs: 2 ** 31 } };
    const verdict = thrown(options);
    if (verdict !== 'accepted') {
      expect(verdict).toMatch(/drainAbandonedStreams\.timeoutMs/);
      return;
    }
    const { client, records } = hostileSetup(options);
    await drain((await client.send(new ConverseStreamCommand(say('x', HAIKU, 100)))).stream, 1);
    await settleSoon(() => records.length > 0);
    // Recorded: usageSource 'estimate' (the drain stopped after 1 ms). Should be: the usage that came 50 ms later.
    expect(records[0]).toMatchObject({ outcome: 'abandoned', usageSource: 'usage', inputTokens: 1_000, outputTokens: 50 });
  });
});

describe('one plugin instance per client', () => {
  it('a second instance on a command of a client that carries one is detected: the call is refused before sending (it would replace the first, budgets and all)', async () => {
    const seen = countConverse(server);
    const first = bedrockFinOps({ budgets: [{ name: 'nothing', limit: { tokens: 0 }, window: 'day' }] });
    const second = bedrockFinOps();
    const client = makeClient(first, { maxAttempts: 1 });
    const command = new ConverseCommand(say());
    const applied = (() => {
      try {
        command.middlewareStack.use(second as never);
        return 'applied';
      } catch (e) {
        return isConfigurationError(e) ? 'refused' : String(e);
      }
    })();
    const sent = await client.send(command).then(
      () => 'sent',
      (e: unknown) => (e as Error).name,
    );
    // Was: applied and sent — the command's stack overrides the client's middleware of the same name, so the
    // first instance's 0-token budget never saw the call (1 request reached Bedrock). The command's stack cannot
    // see the client's when it is applied; the call is refused before sending instead, naming the problem.
    expect({ applied, sent, requests: seen.requests }).toEqual({ applied: 'applied', sent: 'ConfigurationError', requests: 0 });
  });

  it('the same instance applied to a client and to one of its commands meters the call once', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 3, outputTokens: 4 })));
    const { finops, client, records } = hostileSetup({ budgets: [{ name: 'b', limit: { tokens: 100 }, window: 'day' }] });
    const command = new ConverseCommand(say('x', HAIKU, 10));
    command.middlewareStack.use(finops as never);
    client.middlewareStack.use(finops);
    await client.send(command);
    expect(records).toHaveLength(1);
    expect((await finops.budgets.status())[0]!.used.tokens).toBe(7);
  });
});
