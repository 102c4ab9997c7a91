/**
 * On-demand prices of latency-optimized inference (`performanceConfig: { latency: 'optimized' }`),
 * USD per million tokens, keyed by base model. Source: the Amazon Bedrock pricing page
 * (aws.amazon.com/bedrock/pricing, "Latency optimized inference"), us-east-2, as published with
 * the feature's preview (December 2024); the user guide's "Optimize model inference for latency"
 * lists the models. A call that asked for optimized latency but was served at standard latency
 * (the response says) is priced at the standard rate, as Bedrock bills it.
 */
export const LATENCY_OPTIMIZED: Readonly<Record<string, { readonly input: number; readonly output: number }>> = {
  'anthropic.claude-3-5-haiku-20241022-v1:0': { input: 1, output: 5 },
  'meta.llama3-1-405b-instruct-v1:0': { input: 3, output: 3 },
  'meta.llama3-1-70b-instruct-v1:0': { input: 0.9, output: 0.9 },
  'amazon.nova-pro-v1:0': { input: 1, output: 4 },
};
