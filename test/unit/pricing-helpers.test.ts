import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { priceCatalogInfo, resolveApplicationInferenceProfiles } from '../../src/pricing/index.js';

describe('priceCatalogInfo', () => {
  it('names the catalog version that is installed and pinned', () => {
    const installed = JSON.parse(readFileSync(new URL('../../node_modules/@pydantic/genai-prices/package.json', import.meta.url), 'utf8')) as { version: string };
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    expect(priceCatalogInfo().version).toBe(installed.version);
    expect(pkg.dependencies['@pydantic/genai-prices']).toBe(installed.version);
  });
});

describe('resolveApplicationInferenceProfiles', () => {
  const fm = (region: string, id: string) => ({ modelArn: `arn:aws:bedrock:${region}::foundation-model/${id}` });

  it('maps single-region profiles to their model and multi-region ones to the geography profile', async () => {
    const profiles: Record<string, { models: { modelArn: string }[] }> = {
      a: { models: [fm('us-east-1', 'amazon.nova-pro-v1:0')] },
      b: { models: [fm('us-east-1', 'anthropic.claude-sonnet-4-5-20250929-v1:0'), fm('us-west-2', 'anthropic.claude-sonnet-4-5-20250929-v1:0')] },
      c: { models: [fm('eu-west-1', 'anthropic.claude-3-haiku-20240307-v1:0'), fm('eu-central-1', 'anthropic.claude-3-haiku-20240307-v1:0')] },
      d: { models: [fm('us-east-1', 'anthropic.claude-sonnet-4-5-20250929-v1:0'), fm('eu-west-1', 'anthropic.claude-sonnet-4-5-20250929-v1:0')] },
      e: { models: [fm('ap-northeast-1', 'amazon.nova-lite-v1:0'), fm('ap-southeast-2', 'amazon.nova-lite-v1:0')] },
    };
    const models = await resolveApplicationInferenceProfiles([...Object.keys(profiles), 'missing'], async (arn) => {
      const p = profiles[arn];
      if (p === undefined) throw new Error('ResourceNotFoundException');
      return p;
    });
    expect(models).toEqual({
      a: 'amazon.nova-pro-v1:0',
      b: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      c: 'eu.anthropic.claude-3-haiku-20240307-v1:0',
      d: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      e: 'apac.amazon.nova-lite-v1:0',
    });
  });
});
