import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';

const reason = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/**
 * What `--live` is missing before it sends anything: the region and credentials the client
 * resolves (the SDK's default provider chain: environment, SSO, shared config and credentials
 * files, process, web identity, container and instance metadata). Empty when both resolve.
 */
export async function missingForLive(client: BedrockRuntimeClient): Promise<string[]> {
  const missing: string[] = [];
  try {
    await client.config.region();
  } catch (e) {
    missing.push(`an AWS region (${reason(e)}): set AWS_REGION, e.g. AWS_REGION=us-east-1, or \`region\` in the profile AWS_PROFILE names`);
  }
  try {
    await client.config.credentials();
  } catch (e) {
    missing.push(`AWS credentials (${reason(e)}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (after \`aws configure\` or \`aws sso login\`)`);
  }
  return missing;
}
