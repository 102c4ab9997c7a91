import { ConverseCommand, type BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, FINOPS_MIDDLEWARE, reshapeMiddlewareStack } from '../../src/index.js';
import { converseReply, makeClient, on, recorder, useMockBedrock } from '../helpers/bedrock.js';
import { shapedCount, stackEntries } from '../helpers/stack.js';

const server = useMockBedrock();

type Handler = (args: unknown) => Promise<unknown>;
type Options = Record<string, unknown>;

/** A client with the plugin and user middlewares of every kind (absolute and relative, named and not, tagged), logging the order they run in. */
function setUp(): { client: BedrockRuntimeClient; order: string[]; records: ReturnType<typeof recorder>['records'] } {
  const { records, onUsage } = recorder();
  const client = makeClient(bedrockFinOps({ onUsage, budgets: [{ name: 'b', limit: { tokens: 1e9 }, window: 'day' }] }));
  const order: string[] = [];
  const mark = (label: string) => (next: Handler) => (a: unknown) => {
    order.push(label);
    return next(a);
  };
  const stack = client.middlewareStack as unknown as { add(m: unknown, o: Options): void; addRelativeTo(m: unknown, o: Options): void };
  stack.add(mark('anonymous build'), { step: 'build' });
  stack.add(mark('tagged serialize'), { step: 'serialize', name: 'userSerialize', tags: ['USER'], priority: 'high' });
  stack.addRelativeTo(mark('before finops'), { name: 'userBefore', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
  stack.addRelativeTo(mark('after finops'), { name: 'userAfter', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name, aliases: ['userAfterAlias'] });
  return { client, order, records };
}

const send = (client: BedrockRuntimeClient) => client.send(new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));

describe('reshapeMiddlewareStack', () => {
  it("re-adds every entry with an empty before/after, in the same order with the same names, and the calls run as before (metered, the user's middlewares in order)", async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 3, outputTokens: 4 })));
    const { client, order, records } = setUp();
    await send(client);
    const ran = [...order];
    const identified = client.middlewareStack.identify();
    const total = stackEntries(client.middlewareStack).length;
    // The SDK's entries have no before/after; the plugin's two have.
    expect(shapedCount(client.middlewareStack)).toBe(2);

    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(total);
    expect(shapedCount(client.middlewareStack)).toBe(total);
    expect(client.middlewareStack.identify()).toEqual(identified);
    order.length = 0;
    await send(client);
    expect(order).toEqual(ran);
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([
      [3, 4],
      [3, 4],
    ]);
    // Twice is once: every entry already has both.
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(0);
    // Names, aliases and tags still work for removal.
    expect(client.middlewareStack.remove('userAfterAlias')).toBe(true);
    expect(client.middlewareStack.remove('userBefore')).toBe(true);
    expect(client.middlewareStack.removeByTag('USER')).toBe(true);
    expect(client.middlewareStack.removeByTag('BEDROCK_FINOPS')).toBe(true);
    order.length = 0;
    await send(client);
    expect(order).toEqual(['anonymous build']);
    expect(records).toHaveLength(2);
  });

  it('changes nothing on a stack it cannot read back (a stack whose applyToStack throws), and answers 0', () => {
    const { client } = setUp();
    const identified = client.middlewareStack.identify();
    const odd = new Proxy(client.middlewareStack, {
      get: (target, key, receiver) =>
        key === 'applyToStack'
          ? () => {
              throw new Error('not a cloning stack');
            }
          : (Reflect.get(target, key, receiver) as unknown),
    });
    expect(reshapeMiddlewareStack(odd)).toBe(0);
    expect(client.middlewareStack.identify()).toEqual(identified);
    expect(shapedCount(client.middlewareStack)).toBe(2);
  });

  it('puts the original entries back when re-adding fails halfway (an add that throws), and the calls still run as before', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 5, outputTokens: 6 })));
    const { client, order, records } = setUp();
    await send(client);
    const ran = [...order];
    const identified = client.middlewareStack.identify();
    let adds = 0;
    const failing = new Proxy(client.middlewareStack, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'add') return value;
        return (m: never, o: Options) => {
          // The fifth shaped add fails; putting back (options without before/after) goes through.
          if (Array.isArray(o.before) && ++adds === 5) throw new Error('refused');
          return target.add(m, o as never);
        };
      },
    });
    expect(reshapeMiddlewareStack(failing)).toBe(0);
    expect(client.middlewareStack.identify()).toEqual(identified);
    expect(shapedCount(client.middlewareStack)).toBe(2);
    order.length = 0;
    await send(client);
    expect(order).toEqual(ran);
    expect(records.map((r) => r.outputTokens)).toEqual([6, 6]);
  });
});
