import { describe, expect, it } from 'vitest';
import { believedModelId, believedRequestId, believedTier } from '../../src/usage/served.js';

// What a response names about who served a call is believed only when it can be Bedrock's. These check that what
// Bedrock really sends is believed (guards), and that a sentence where a request id goes is not.

describe('bounds on what a response names', () => {
  it('believes every service tier Bedrock names (guard)', () => {
    for (const tier of ['default', 'priority', 'flex', 'reserved']) expect(believedTier(tier)).toBe(tier);
  });

  it('believes the model ids and ARNs a prompt router names, cross-region and application inference profiles too (guard)', () => {
    const ids = [
      'anthropic.claude-3-haiku-20240307-v1:0',
      'us.anthropic.claude-3-5-sonnet-20240620-v1:0',
      'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0',
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0',
      'arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0',
      'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6',
      'arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.anthropic.claude-3-haiku-20240307-v1:0',
      'arn:aws-cn:bedrock:cn-north-1:123456789012:provisioned-model/abc123def456',
      'arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1',
    ];
    for (const id of ids) expect(believedModelId(id)).toBe(id);
  });

  it('believes the request ids AWS sends (guard)', () => {
    for (const id of ['0f5e6a1c-3b1d-4c1e-9d2a-7f1e2d3c4b5a', '4442587FB7D0A2F9', 'Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==', 'req-123', 'x'.repeat(128)]) {
      expect(believedRequestId(id)).toBe(id);
    }
    expect(believedRequestId(undefined)).toBeUndefined();
  });

  it('does not believe a sentence where a request id goes (before: kept when no longer than 128 characters)', () => {
    // A proxy echoing the prompt in x-amzn-requestid: before, recorded as the call's request id (record, ledger, OTLP).
    expect(believedRequestId('PLEASE SUMMARISE MY SECRET MERGER MEMO')).toBeUndefined();
    expect(believedRequestId('req\u0000id')).toBeUndefined();
    expect(believedRequestId('r\ud800')).toBeUndefined();
    expect(believedRequestId('x'.repeat(129))).toBeUndefined();
  });
});
