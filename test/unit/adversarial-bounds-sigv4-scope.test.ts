import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';
import { AwsV4Signer } from 'aws4fetch';
import { describe, expect, it } from 'vitest';
import { isSignedForBedrock, recogniseBedrock } from '../../src/fetch/recognise.js';
import { Sha256 } from '../helpers/fetch.js';

// How a request's SigV4 / SigV4a signature scope is read. The header is the caller's: a proxy forwards its client's
// Authorization header, so reading it must cost time linear in its length.

const PROXY = 'https://bedrock.proxy.internal';
const URL_ = new URL(`${PROXY}/model/amazon.nova-micro-v1%3A0/converse`);
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const auth = (value: string) => new Headers({ authorization: value });


describe('the scope of a SigV4 signature', () => {
  it('is read from what real signers write: the SDK’s SignatureV4 and aws4fetch (the AI SDK’s), for bedrock and not for s3 (guard)', async () => {
    for (const service of ['bedrock', 's3']) {
      const smithy = await new SignatureV4({ service, region: 'us-east-1', credentials: CREDENTIALS, sha256: Sha256 }).sign(
        { method: 'POST', protocol: 'https:', hostname: URL_.hostname, path: URL_.pathname, query: {}, headers: { host: URL_.hostname, 'content-type': 'application/json' }, body: '{}' } satisfies HttpRequest,
      );
      const signed = await new AwsV4Signer({ url: URL_.href, method: 'POST', body: '{}', service, region: 'us-east-1', ...CREDENTIALS }).sign();
      for (const headers of [new Headers(smithy.headers), signed.headers]) expect(isSignedForBedrock(headers, URL_)).toBe(service === 'bedrock');
    }
  });

  it('is read from SigV4a headers and presigned URLs, separators and letter case of the algorithm as clients write them (guard)', () => {
    const sig = `Signature=${'0'.repeat(64)}`;
    for (const value of [
      `AWS4-ECDSA-P256-SHA256 Credential=AKID/20260101/bedrock/aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set, ${sig}`,
      `aws4-ecdsa-p256-sha256 Credential=AKID/20260101/bedrock/aws4_request,SignedHeaders=host,${sig}`,
      `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, ${sig}`,
      `AWS4-HMAC-SHA256 SignedHeaders=host, Credential=AKID/20260101/eu-west-1/bedrock/aws4_request, ${sig}`,
    ])
      expect(isSignedForBedrock(auth(value), URL_)).toBe(true);
    for (const value of [
      `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, ${sig}`,
      `AWS4-ECDSA-P256-SHA256 Credential=AKID/20260101/s3/aws4_request, ${sig}`,
      `AWS4-HMAC-SHA256 Credential=AKID/2026011/us-east-1/bedrock/aws4_request, ${sig}`,
      `AWS4-HMAC-SHA256 Credential=AKID/20260101/a/b/bedrock/aws4_request, ${sig}`,
      `Bearer Credential=AKID/20260101/us-east-1/bedrock/aws4_request`,
    ])
      expect(isSignedForBedrock(auth(value), URL_)).toBe(false);
    const presigned = (credential: string) => new URL(`${URL_.href}?X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=${credential}&X-Amz-Signature=00`);
    expect(isSignedForBedrock(new Headers(), presigned('AKID%2F20260101%2Fbedrock%2Faws4_request'))).toBe(true);
    expect(isSignedForBedrock(new Headers(), presigned('AKID%2F20260101%2Fus-west-2%2Fbedrock%2Faws4_request'))).toBe(true);
    expect(isSignedForBedrock(new Headers(), presigned('AKID%2F20260101%2Fs3%2Faws4_request'))).toBe(false);
  });

  it('is read in time linear in the header: a 1 MiB forwarded header of "Credential=a" (512 KB blocked the event loop ~23 s with the old regex\'s quadratic backtracking)', () => {
    // 16 KB (Node's default limit on a request a proxy receives) took 24 ms per request; 64 KB 0.5 s; 256 KB 5.7 s.
    const hostile = `AWS4-HMAC-SHA256 ${'Credential=a'.repeat(1024 * 1024 / 12)}`;
    // Not timed (the project asserts no timings): read by parts, it answers at once; with the old
    // regex this test blocked for ~2 minutes and failed on the suite's test timeout.
    expect(recogniseBedrock('POST', URL_, auth(hostile), [])).toBeUndefined();
  });
});
