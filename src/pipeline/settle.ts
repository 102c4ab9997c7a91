import type { Call, Outcome, Settlement, SettlementSink } from '../call.js';
import type { OnceReporter } from '../diagnostics.js';
import { errorName } from '../errors/error-name.js';
import type { Pricer } from '../pricing/pricer.js';
import { reportRejection } from '../promise-like.js';
import type { UsageRecord } from '../record.js';
import { toTokenUsage, ZERO_USAGE, type ObservedUsage } from '../usage/token-usage.js';
import { callMaxOutputTokens, heuristicInputTokens } from '../budgets/estimate.js';
import type { Admission, Ticket } from './admission.js';
import { estimatedUsage, isBilled, mayHaveBilled, outputEstimate, withoutImplausible } from './estimate.js';
import { returnedOutputTokens, zeroOutputWithText } from '../usage/output-estimate.js';
import { believedRequestId } from '../usage/served.js';

/** For calls that may have been billed without telling: what an estimate starts from. */
export interface EstimateBasis {
  /** The command input (read only to estimate its input tokens when no budget reserved an estimate). */
  readonly input: unknown;
  /** Output tokens a stream showed before it ended. */
  readonly outputSeen: number;
  /** A unary call's SDK output (read only to estimate the output it returned when its reported count was not believed). */
  readonly output?: unknown;
}

/**
 * What a call answered without any attempt sent to Bedrock is settled with (a middleware below
 * the plugin answered it): nothing billed, whatever the answer says. One value for every such call.
 */
export const NOT_SENT: ObservedUsage = Object.freeze({ usage: ZERO_USAGE, source: 'unsent' });

type MutableRecord = { -readonly [K in keyof UsageRecord]: UsageRecord[K] };

function requestIdOf(error: unknown): string | undefined {
  const id = (error as { $metadata?: { requestId?: unknown } } | null | undefined)?.$metadata?.requestId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Settles calls, once each: prices what was observed into a {@link UsageRecord}, wraps it in an
 * immutable {@link Settlement}, settles the call's admission ticket (budget commit) and hands the
 * settlement to every sink in order. Nothing here throws into the caller's path.
 */
export class Settler {
  private readonly sinks: SettlementSink[] = [];

  constructor(
    private readonly pricer: Pricer,
    private readonly admission: Admission,
    private readonly reporter: OnceReporter,
  ) {}

  addSink(sink: SettlementSink): void {
    this.sinks.push(sink);
  }

  private record(call: Call, outcome: Outcome, observed: ObservedUsage | undefined, error: unknown, maxTokens: number | undefined): UsageRecord {
    const usage = observed === undefined ? ZERO_USAGE : toTokenUsage(observed.usage);
    const record: MutableRecord = {
      operation: call.info.operation,
      requestedModelId: call.requestedModelId,
      modelId: call.modelId,
      modelKind: call.model.ref.kind,
      baseModelId: call.model.baseModelId,
      attribution: call.attribution,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadInputTokens: usage.cacheReadInputTokens,
      cacheWriteInputTokens: usage.cacheWriteInputTokens,
      cacheWrite1hInputTokens: usage.cacheWrite1hInputTokens,
      speechInputTokens: usage.speechInputTokens,
      speechOutputTokens: usage.speechOutputTokens,
      serviceTier: call.serviceTier,
      performanceLatency: call.performanceLatency,
      maxTokens,
      usageSource: observed === undefined ? 'none' : observed.source,
      costUsd: undefined,
      onDemandEquivalentUsd: undefined,
      durationMs: performance.now() - call.t0,
      timeToFirstChunkMs: call.firstEventAt < 0 ? undefined : call.firstEventAt - call.t0,
      startedAt: call.startedAt,
      fallback: call.fallback,
      outcome,
      error: outcome !== 'success' && error !== undefined ? errorName(error) : undefined,
      // From a response header: a value longer than a request id can be is none (every transport sets it, so it is bounded here).
      requestId: believedRequestId(call.requestId ?? requestIdOf(error)),
    };
    // Nothing was sent, so nothing was billed: a cost of exactly 0 whether or not the model's price is known.
    if (observed === NOT_SENT) record.costUsd = 0;
    else
      try {
        const model = call.model;
        const cost = this.pricer.price(model.price, model.pricedAs, model.ref.kind === 'provisioned-model', usage, call.serviceTier, call.performanceLatency);
        record.costUsd = cost.costUsd;
        record.onDemandEquivalentUsd = cost.onDemandEquivalentUsd;
      } catch (e) {
        this.reporter.error('cost', 'pricing failed (the record has no cost)', e);
      }
    // One record for every sink: one that changes it (an onUsage redacting a field) would change
    // what a ledger writes later (ledgers buffer the record itself).
    return Object.freeze(record);
  }

  /**
   * What to record: Bedrock's billed usage; for a call Bedrock may have billed without saying
   * so, or whose counts were implausible (dropped, reported), an estimate, never 0.
   */
  private usageOf(call: Call, ticket: Ticket, outcome: Outcome, observed: ObservedUsage | undefined, basis: EstimateBasis | undefined, maxOutput: number | undefined): ObservedUsage | undefined {
    if (observed === NOT_SENT) return observed;
    const sane = observed === undefined ? undefined : (withoutImplausible(observed, call.modelId, this.reporter, maxOutput) ?? observed);
    const dropped = sane !== observed;
    // A Converse answer always counts its output: one without (a proxy that stripped it) is charged what its text shows.
    // So is one whose count says 0 beside output it returned (a count written 0 in place of stripped).
    const outputMissing =
      outcome === 'success' && call.info.delivery === 'converse' && (sane?.usage.outputTokens === undefined || (sane.usage.outputTokens === 0 && zeroOutputWithText(basis?.output)));
    if (!dropped && !outputMissing && isBilled(sane)) return sane;
    // A complete answer whose own (family) counts were read: they stand.
    if (!dropped && !outputMissing && outcome === 'success' && (sane?.usage.inputTokens !== undefined || sane?.usage.outputTokens !== undefined)) return sane;
    if (!dropped && !mayHaveBilled(call, outcome)) return sane;
    if (outcome === 'success' && !dropped)
      this.reporter.warn(
        `no-usage:${call.info.operation}:${call.modelId.slice(0, 200)}`,
        `${call.info.operation} to ${call.modelId.slice(0, 200)} returned no usage that could be read; charged an estimate (usageSource "estimate")`,
      );
    const inputEstimate = (): number => this.admission.estimatedInput(ticket) ?? heuristicInputTokens(call.info.operation, basis?.input);
    const seen = basis?.outputSeen ?? 0;
    // A reported output count that was not believed: the cap, else what came back; never 0.
    const outputDropped = dropped && observed?.usage.outputTokens !== undefined && sane?.usage.outputTokens === undefined;
    const returned = (): number => Math.max(seen, returnedOutputTokens(call.info.delivery, basis?.output));
    const output = outputDropped ? outputEstimate(maxOutput, returned) : outputMissing ? returned() : seen;
    return estimatedUsage(sane, inputEstimate, output);
  }

  /** Settles `call` (every call after the first is ignored). */
  settle(call: Call, ticket: Ticket, outcome: Outcome, observed: ObservedUsage | undefined, error: unknown, basis?: EstimateBasis): void {
    if (call.settled) return;
    call.settled = true;
    let settlement: Settlement;
    try {
      const maxTokens = basis === undefined ? undefined : callMaxOutputTokens(call, basis.input);
      const record = this.record(call, outcome, this.usageOf(call, ticket, outcome, observed, basis, maxTokens), error, maxTokens);
      const isInvoke = call.info.delivery === 'invoke' || call.info.delivery === 'invoke-stream';
      settlement = { record, genAiOperation: isInvoke ? call.model.invokeOperation : 'chat', serverAddress: call.serverAddress, serverPort: call.serverPort };
    } catch (e) {
      this.reporter.error('settle', 'could not build a usage record (the call is unaffected)', e);
      return;
    }
    try {
      this.admission.settle(ticket, settlement);
    } catch (e) {
      this.reporter.error('settle-admission', 'budget settlement failed (the call is unaffected)', e);
    }
    for (const sink of this.sinks) {
      try {
        // An async sink (an async onUsage): its rejection is reported as a throw is.
        reportRejection(sink(settlement), (e) => {
          this.reporter.error(`sink:${sink.name}`, 'a usage sink rejected (the call is unaffected)', e);
        });
      } catch (e) {
        this.reporter.error(`sink:${sink.name}`, 'a usage sink threw (the call is unaffected)', e);
      }
    }
  }
}
