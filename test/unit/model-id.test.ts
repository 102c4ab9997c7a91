import { describe, expect, it } from 'vitest';
import { parseModelId } from '../../src/model/index.js';

describe('parseModelId', () => {
  it.each([
    ['anthropic.claude-sonnet-4-5-20250929-v1:0', 'foundation-model', 'anthropic.claude-sonnet-4-5-20250929-v1:0', undefined, undefined],
    ['amazon.titan-text-express-v1', 'foundation-model', 'amazon.titan-text-express-v1', undefined, undefined],
    ['anthropic.claude-3-sonnet-20240229-v1:0:200k', 'foundation-model', 'anthropic.claude-3-sonnet-20240229-v1:0:200k', undefined, undefined],
    ['us.anthropic.claude-3-5-haiku-20241022-v1:0', 'inference-profile', 'anthropic.claude-3-5-haiku-20241022-v1:0', 'us', undefined],
    ['eu.amazon.nova-pro-v1:0', 'inference-profile', 'amazon.nova-pro-v1:0', 'eu', undefined],
    ['apac.anthropic.claude-3-haiku-20240307-v1:0', 'inference-profile', 'anthropic.claude-3-haiku-20240307-v1:0', 'apac', undefined],
    ['jp.anthropic.claude-sonnet-4-5-20250929-v1:0', 'inference-profile', 'anthropic.claude-sonnet-4-5-20250929-v1:0', 'jp', undefined],
    ['au.anthropic.claude-sonnet-4-5-20250929-v1:0', 'inference-profile', 'anthropic.claude-sonnet-4-5-20250929-v1:0', 'au', undefined],
    ['us-gov.anthropic.claude-3-haiku-20240307-v1:0', 'inference-profile', 'anthropic.claude-3-haiku-20240307-v1:0', 'us-gov', undefined],
    ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'inference-profile', 'anthropic.claude-sonnet-4-5-20250929-v1:0', 'global', undefined],
    ['arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-70b-instruct-v1:0', 'foundation-model', 'meta.llama3-70b-instruct-v1:0', undefined, 'us-west-2'],
    ['arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0', 'inference-profile', 'anthropic.claude-3-7-sonnet-20250219-v1:0', 'eu', 'eu-west-1'],
    ['arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6', 'application-inference-profile', undefined, undefined, 'us-east-1'],
    ['arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456', 'provisioned-model', undefined, undefined, 'us-east-1'],
    ['arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-lite-v1:0:4k/a1b2c3', 'custom-model', 'amazon.titan-text-lite-v1:0:4k', undefined, 'us-east-1'],
    ['arn:aws:bedrock:us-east-1:123456789012:custom-model/a1b2c3', 'custom-model', undefined, undefined, 'us-east-1'],
    ['arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/xyz', 'custom-model-deployment', undefined, undefined, 'us-east-1'],
    ['arn:aws:bedrock:us-east-1:123456789012:imported-model/zzz999', 'imported-model', undefined, undefined, 'us-east-1'],
    ['arn:aws:bedrock:us-east-1:123456789012:prompt/PROMPT12345:1', 'prompt', undefined, undefined, 'us-east-1'],
    ['arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint', 'marketplace-endpoint', undefined, undefined, 'us-east-1'],
    ['arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0', 'foundation-model', 'anthropic.claude-3-haiku-20240307-v1:0', undefined, 'us-gov-west-1'],
    ['', 'unknown', undefined, undefined, undefined],
    ['not a model', 'unknown', undefined, undefined, undefined],
    ['arn:aws:s3:::bucket/key', 'unknown', undefined, undefined, undefined],
  ] as const)('parses %s', (id, kind, base, geography, region) => {
    const ref = parseModelId(id);
    expect(ref).toMatchObject({ id, kind, baseModelId: base, geography, region });
    expect(ref.provider).toBe(base?.split('.')[0]);
  });

  it('reads the account of an account-scoped ARN', () => {
    expect(parseModelId('arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc').accountId).toBe('123456789012');
    expect(parseModelId('arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0').accountId).toBeUndefined();
  });
});
