import { ConfigurationError } from '../errors/configuration-error.js';
import { assertFunction, oneOf, positiveInteger, timerMs } from '../validate.js';
import { compileRules, type BudgetRule, type CompiledRule } from './budget-rule.js';
import type { CountTokensClient } from './count-tokens-estimator.js';
import type { InputEstimator } from './estimate.js';
import type { BudgetEvent } from './events.js';
import { compilePolicies, type CompiledPolicy, type ModelPolicy } from './policy.js';
import type { BudgetStore } from './store.js';

/** Budget and policy options of `bedrockFinOps`. */
export interface BudgetsInputConfig {
  /**
   * Token and cost budgets, enforced before each call is sent.
   * @defaultValue `[]`
   */
  readonly budgets?: readonly BudgetRule[];
  /**
   * Model policies: which models matched calls may use.
   * @defaultValue `[]`
   */
  readonly policies?: readonly ModelPolicy[];
  /**
   * Where budget counters live. Use `new RedisBudgetStore({ client })` (from
   * `bedrock-finops/redis`) to share budgets across processes.
   * @defaultValue an in-memory store (this process only)
   */
  readonly budgetStore?: BudgetStore;
  /**
   * How a call's input tokens are estimated for admission: `'heuristic'` (characters / 3.5, see
   * README), `'count-tokens'` (Bedrock's CountTokens API, exact; needs `countTokensClient`), or
   * your own function.
   * @defaultValue `'heuristic'`
   */
  readonly estimator?: 'heuristic' | 'count-tokens' | InputEstimator;
  /** The client `estimator: 'count-tokens'` sends CountTokens with (any BedrockRuntimeClient). */
  readonly countTokensClient?: CountTokensClient;
  /**
   * How long an asynchronous estimator (`'count-tokens'`, or your own) may take, in ms; past it
   * the heuristic stands in (reported once) and the call goes on: a stalled estimator never
   * holds calls.
   * @defaultValue `2000`
   */
  readonly estimatorTimeoutMs?: number;
  /**
   * Output tokens reserved for a call whose request sets no max tokens.
   * @defaultValue `4096`
   */
  readonly defaultMaxOutputTokens?: number;
  /**
   * How long a reservation holds if its call never settles (a crashed process), in ms.
   * @defaultValue `900000` (15 minutes)
   */
  readonly reservationLeaseMs?: number;
  /**
   * What to do when the budget store fails (for a shared store: it cannot be reached and this
   * process holds no room for the call): `'allow'` sends the call within the insurance allowance
   * (`insuranceFraction`), `'deny'` rejects it with `BudgetExceededError` (`reason: 'store-unavailable'`).
   * @defaultValue `'allow'`
   */
  readonly onStoreError?: 'allow' | 'deny';
  /**
   * With `onStoreError: 'allow'`, how much a process may admit while the store cannot be asked:
   * this fraction of each limit, per budget counter and window, counted by the calls' estimates
   * (the insurance allowance). Past it, calls are refused with `reason: 'store-unavailable'`.
   * `0` makes `'allow'` refuse like `'deny'`; `1` lets each process spend a whole limit.
   * @defaultValue `0.01`
   */
  readonly insuranceFraction?: number;
  /** Called for budget threshold crossings, rejections, warn-budget overruns, unpriced models and store errors. */
  readonly onBudgetEvent?: (event: BudgetEvent) => void;
  /**
   * A call that matches a cost budget (`limit.costUsd`) to a model with no known price:
   * `'deny'` refuses it before sending with an `UnpricedModelError` naming the model and how to add
   * a price; `'warn'` admits it, fires an `unpriced` budget event, and charges the cost budget
   * nothing for it (its token limits still apply). Never silently unlimited.
   * @defaultValue `'deny'`
   */
  readonly unpricedModels?: 'deny' | 'warn';
}

export interface BudgetsResolvedConfig {
  readonly rules: readonly CompiledRule[];
  readonly policies: readonly CompiledPolicy[];
  readonly budgetStore: BudgetStore | undefined;
  readonly estimator: 'heuristic' | 'count-tokens' | InputEstimator;
  readonly countTokensClient: CountTokensClient | undefined;
  readonly estimatorTimeoutMs: number;
  readonly defaultMaxOutputTokens: number;
  readonly reservationLeaseMs: number;
  readonly onStoreError: 'allow' | 'deny';
  readonly insuranceFraction: number;
  readonly onBudgetEvent: ((event: BudgetEvent) => void) | undefined;
  readonly unpricedModels: 'deny' | 'warn';
}

export const BUDGETS_OPTION_KEYS = [
  'budgets',
  'policies',
  'budgetStore',
  'estimator',
  'countTokensClient',
  'estimatorTimeoutMs',
  'defaultMaxOutputTokens',
  'reservationLeaseMs',
  'onStoreError',
  'insuranceFraction',
  'onBudgetEvent',
  'unpricedModels',
] as const;

export function resolveBudgetsConfig(o: BudgetsInputConfig): BudgetsResolvedConfig {
  const store = o.budgetStore;
  if (store !== undefined && (typeof store !== 'object' || typeof store.reserve !== 'function' || typeof store.commit !== 'function' || typeof store.read !== 'function'))
    throw new ConfigurationError('budgetStore', 'must implement reserve, commit and read (see BudgetStore)');
  const estimator = o.estimator ?? 'heuristic';
  if (estimator !== 'heuristic' && estimator !== 'count-tokens' && typeof estimator !== 'function')
    throw new ConfigurationError('estimator', "must be 'heuristic', 'count-tokens' or a function");
  if (estimator === 'count-tokens' && (o.countTokensClient === undefined || typeof o.countTokensClient.send !== 'function'))
    throw new ConfigurationError('countTokensClient', "is required with estimator 'count-tokens' (pass a BedrockRuntimeClient)");
  assertFunction(o.onBudgetEvent, 'onBudgetEvent');
  const insuranceFraction = o.insuranceFraction ?? 0.01;
  if (typeof insuranceFraction !== 'number' || !(insuranceFraction >= 0 && insuranceFraction <= 1))
    throw new ConfigurationError('insuranceFraction', 'must be a number from 0 to 1');
  return {
    rules: compileRules(o.budgets),
    policies: compilePolicies(o.policies),
    budgetStore: store,
    estimator,
    countTokensClient: o.countTokensClient,
    estimatorTimeoutMs: timerMs(o.estimatorTimeoutMs, 2_000, 'estimatorTimeoutMs'),
    defaultMaxOutputTokens: positiveInteger(o.defaultMaxOutputTokens, 4096, 'defaultMaxOutputTokens'),
    reservationLeaseMs: positiveInteger(o.reservationLeaseMs, 900_000, 'reservationLeaseMs'),
    onStoreError: oneOf(o.onStoreError, ['allow', 'deny'], 'allow', 'onStoreError'),
    insuranceFraction,
    onBudgetEvent: o.onBudgetEvent,
    unpricedModels: oneOf(o.unpricedModels, ['deny', 'warn'], 'deny', 'unpricedModels'),
  };
}
