import { afterEach, describe, expect, it, vi } from 'vitest';
import { isQuotaExceededError } from '../../src/index.js';
import type { QuotaRule } from '../../src/quotas/index.js';
import { until } from '../helpers/budgeted.js';
import { burst, burstCall, GOVERNOR_NEED, quotaClient, quotaSimulator, SIM_NEED } from '../helpers/quota-burst.js';

/**
 * The wall clock set while calls flow (an NTP step, a VM resumed, set by hand): Bedrock's windows
 * do not move with this host's clock, so neither may the governor's. The simulator counts its
 * quota on the monotonic clock (Bedrock's own time), and the plugin's wall clock (`Date.now`)
 * jumps under it. Before, a step forward emptied the governor's window and (15 min or more)
 * released the holds of calls in flight: it admitted a full quota more and the simulator answered
 * 429; a step back kept charges made before it for a whole window after it.
 */
const MINUTE = 60_000;
const LATENCY_MS = 500;
const quota = (tokens: number, more: Partial<QuotaRule> = {}): QuotaRule => ({ name: 'sonnet-tpm', match: { model: 'anthropic.claude-sonnet-4*' }, tokensPerMinute: tokens, windowMs: MINUTE, ...more });

/** Steps `Date.now` (only) by `ms` from here on; `performance.now` stays real. */
function stepWallClock(ms: number): void {
  const real = Date.now.bind(Date);
  vi.spyOn(Date, 'now').mockImplementation(() => real() + ms);
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('the wall clock steps forward 20 minutes mid-traffic, with calls in flight (a 1-minute window)', () => {
  // Room for 10 calls, settled (charged SIM_NEED each) or in flight (held GOVERNOR_NEED each), not for an 11th.
  const QUOTA = 10 * SIM_NEED + GOVERNOR_NEED - 1;

  it("onLimit 'reject': what was charged and held before the step still counts; the next 10 calls are refused, none throttled", async () => {
    const engine = quotaSimulator(QUOTA, MINUTE, { latencyMs: LATENCY_MS, now: () => performance.now() });
    const { client, finops } = quotaClient(engine, { quotas: [quota(QUOTA, { onLimit: 'reject' })] });
    const status = () => finops?.quotas.status()[0];
    expect(await burst(5, () => burstCall(client))).toEqual({ served: 5, refused: 0, throttled: 0, failed: 0 });
    const inFlight = burst(5, () => burstCall(client));
    await until(() => status()?.inUse.requests === 10);
    // Charged: 5 settled calls; held: 5 calls in flight.
    expect(status()?.inUse).toEqual({ tokens: 5 * SIM_NEED + 5 * GOVERNOR_NEED, requests: 10 });
    stepWallClock(20 * MINUTE);
    const after = await burst(10, () => burstCall(client));
    // Before: the window was empty and the holds released (lease 15 min): 10 admitted, 9 throttled by Bedrock.
    expect(after).toEqual({ served: 0, refused: 10, throttled: 0, failed: 0 });
    expect(engine.stats.throttled).toBe(0);
    // Nothing of the step was released: the 5 holds are still held, the 5 charges still charged.
    expect(status()?.inUse).toEqual({ tokens: 5 * SIM_NEED + 5 * GOVERNOR_NEED, requests: 10 });
    expect(await inFlight).toEqual({ served: 5, refused: 0, throttled: 0, failed: 0 });
    // Settled: the holds released, each call charged what the simulator counted.
    expect(status()?.inUse).toEqual({ tokens: 10 * SIM_NEED, requests: 10 });
  });

  it("a refusal's retryAt is on the wall clock the caller schedules by (the jumped one), within a window of it", async () => {
    const engine = quotaSimulator(QUOTA, MINUTE, { now: () => performance.now() });
    const { client } = quotaClient(engine, { quotas: [quota(3 * GOVERNOR_NEED, { onLimit: 'reject' })] });
    expect((await burst(3, () => burstCall(client))).served).toBe(3);
    stepWallClock(20 * MINUTE);
    const refusal = await burstCall(client).then(
      () => undefined,
      (e: unknown) => (isQuotaExceededError(e) ? e : undefined),
    );
    const retryAt = refusal?.retryAt?.getTime() ?? 0;
    expect(retryAt).toBeGreaterThan(Date.now());
    expect(retryAt).toBeLessThanOrEqual(Date.now() + MINUTE);
  });

  it("onLimit 'wait': calls waiting at the step keep waiting (the window is still full when the calls in flight settle) and time out; none is sent, none throttled", async () => {
    const engine = quotaSimulator(QUOTA, MINUTE, { latencyMs: LATENCY_MS, now: () => performance.now() });
    const { client, finops } = quotaClient(engine, { quotas: [quota(QUOTA, { onLimit: 'wait', maxWaitMs: 4 * LATENCY_MS })] });
    const status = () => finops?.quotas.status()[0];
    expect((await burst(5, () => burstCall(client))).served).toBe(5);
    const inFlight = burst(5, () => burstCall(client));
    await until(() => status()?.inUse.requests === 10);
    const waiting = burst(3, () => burstCall(client));
    await until(() => status()?.waiting === 3);
    stepWallClock(20 * MINUTE);
    // The calls in flight settle (each wakes the queue): their charges fill the window they held.
    expect(await inFlight).toEqual({ served: 5, refused: 0, throttled: 0, failed: 0 });
    // Before: the queue woke to an empty window, sent all 3, and Bedrock throttled 2.
    expect(await waiting).toEqual({ served: 0, refused: 3, throttled: 0, failed: 0 });
    expect(engine.stats.throttled).toBe(0);
    expect(status()).toMatchObject({ inUse: { tokens: 10 * SIM_NEED, requests: 10 }, waiting: 0, counts: { timedOut: 3 } });
  });
});

describe('the wall clock steps back an hour mid-window (fake Date and performance clocks: Bedrock lives by the monotonic one)', () => {
  const T = Date.UTC(2026, 10, 28, 3);
  const FITS = 5;
  const QUOTA = FITS * GOVERNOR_NEED;

  it('charges leave the window a window after they were made, not a window after the step: a full quota again 1.1 windows on', async () => {
    vi.useFakeTimers({ now: T, toFake: ['Date', 'performance'] });
    const engine = quotaSimulator(QUOTA, MINUTE, { now: () => performance.now() });
    const { client, finops } = quotaClient(engine, { quotas: [quota(QUOTA, { onLimit: 'reject' })] });
    expect(await burst(FITS + 1, () => burstCall(client))).toEqual({ served: FITS, refused: 1, throttled: 0, failed: 0 });
    vi.advanceTimersByTime(0.9 * MINUTE);
    vi.setSystemTime(Date.now() - 60 * MINUTE);
    // Just after the step: the window is still full, as it is at Bedrock.
    expect(await burst(1, () => burstCall(client))).toMatchObject({ served: 0, refused: 1 });
    vi.advanceTimersByTime(0.2 * MINUTE);
    // 1.1 windows after the charges: Bedrock's window is empty and so is the governor's (before: refused all 5 for another 0.8 window).
    expect(finops?.quotas.status()[0]?.inUse).toEqual({ tokens: 0, requests: 0 });
    expect(await burst(FITS, () => burstCall(client))).toEqual({ served: FITS, refused: 0, throttled: 0, failed: 0 });
    expect(engine.stats.throttled).toBe(0);
  });
});
