import { describe, expect, it } from 'vitest';
import { ModelResolver } from '../../src/model/model-resolver.js';

describe('ModelResolver', () => {
  it('looks a price up once per model id, then serves it from the cache', () => {
    let lookups = 0;
    const resolver = new ModelResolver(new Map(), (pricedAs) => {
      lookups++;
      return pricedAs;
    });
    const now = Date.UTC(2026, 10, 26, 12);
    for (let i = 0; i < 1000; i++) resolver.resolve('us.amazon.nova-pro-v1:0', now + i);
    resolver.resolve('amazon.nova-lite-v1:0', now);
    expect(lookups).toBe(2);
    expect(resolver.resolve('us.amazon.nova-pro-v1:0', now).price).toBe('us.amazon.nova-pro-v1:0');
  });

  it('resolves again on a new UTC day, since catalog prices are dated', () => {
    const seen: string[] = [];
    const resolver = new ModelResolver(new Map(), (_p, _t, at) => {
      seen.push(at.toISOString().slice(0, 10));
      return 0;
    });
    resolver.resolve('amazon.nova-pro-v1:0', Date.UTC(2026, 10, 26, 23, 59));
    resolver.resolve('amazon.nova-pro-v1:0', Date.UTC(2026, 10, 26, 23, 59, 59));
    resolver.resolve('amazon.nova-pro-v1:0', Date.UTC(2026, 10, 27, 0, 0, 1));
    expect(seen).toEqual(['2026-11-26', '2026-11-27']);
  });

  it('prices profile ARNs as their profile id, mapped ids as their target, foundation ARNs as the base id', () => {
    const resolver = new ModelResolver(new Map([['arn:aws:bedrock:us-east-1:1:application-inference-profile/x', 'eu.amazon.nova-pro-v1:0']]), (p) => p);
    const now = Date.now();
    expect(resolver.resolve('arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0', now).pricedAs).toBe('us.anthropic.claude-3-haiku-20240307-v1:0');
    expect(resolver.resolve('arn:aws:bedrock:us-east-1:1:application-inference-profile/x', now)).toMatchObject({ pricedAs: 'eu.amazon.nova-pro-v1:0', baseModelId: 'amazon.nova-pro-v1:0', provider: 'amazon' });
    expect(resolver.resolve('arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-8b-instruct-v1:0', now).pricedAs).toBe('meta.llama3-8b-instruct-v1:0');
  });
});
