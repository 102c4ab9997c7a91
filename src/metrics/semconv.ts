/**
 * Every metric and attribute name this library emits, in one place: OpenTelemetry GenAI
 * semantic conventions (v1.41) and the library's own `bedrock_finops.*` namespace.
 */

/** GenAI client metrics (histograms). */
export const GEN_AI_TOKEN_USAGE = 'gen_ai.client.token.usage';
export const GEN_AI_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const GEN_AI_TIME_TO_FIRST_CHUNK = 'gen_ai.client.operation.time_to_first_chunk';

/** FinOps counters (observable, aggregated in-process). */
export const FINOPS_TOKENS = 'bedrock_finops.tokens';
export const FINOPS_CALLS = 'bedrock_finops.calls';
export const FINOPS_COST = 'bedrock_finops.cost';
export const FINOPS_ON_DEMAND_EQUIVALENT = 'bedrock_finops.cost.on_demand_equivalent';
export const FINOPS_THROTTLES = 'bedrock_finops.throttles';
export const FINOPS_FALLBACKS = 'bedrock_finops.fallbacks';
export const FINOPS_BUDGET_REJECTIONS = 'bedrock_finops.budget.rejections';
export const FINOPS_BUDGET_ALERTS = 'bedrock_finops.budget.alerts';
export const FINOPS_BUDGET_USED = 'bedrock_finops.budget.used';
export const FINOPS_BUDGET_LIMIT = 'bedrock_finops.budget.limit';
export const FINOPS_POLICY_REJECTIONS = 'bedrock_finops.policy.rejections';
export const FINOPS_STORE_ERRORS = 'bedrock_finops.budget.store.errors';
export const FINOPS_STORE_EVENTS = 'bedrock_finops.budget.store.events';
export const FINOPS_STORE_PENDING = 'bedrock_finops.budget.store.pending_commits';
/** 1 while the budget store's backend is unreachable (outage state), else 0. */
export const FINOPS_STORE_UNAVAILABLE = 'bedrock_finops.budget.store.unavailable';
/** Slices of budget room this process holds. */
export const FINOPS_STORE_SLICES = 'bedrock_finops.budget.store.slices';
/** Round trips to the budget store's backend (histogram, seconds), by operation and outcome. */
export const FINOPS_STORE_ROUND_TRIP = 'bedrock_finops.budget.store.round_trip.duration';
/** Calls admitted (or refused) against the insurance allowance while the store was unavailable. */
export const FINOPS_BUDGET_INSURED = 'bedrock_finops.budget.insured';
export const ATTR_FINOPS_STORE_EVENT = 'bedrock_finops.store.event';
export const ATTR_FINOPS_STORE_OPERATION = 'bedrock_finops.store.operation';
/** Quota tokens (and requests) in use: charged in the window plus held by calls in flight. */
export const FINOPS_QUOTA_IN_USE = 'bedrock_finops.quota.in_use';
/** The limit a quota governor paces against now (below the configured one for a while after a 429). */
export const FINOPS_QUOTA_LIMIT = 'bedrock_finops.quota.limit';
/** Calls that waited for quota room, by how the wait ended. */
export const FINOPS_QUOTA_WAITS = 'bedrock_finops.quota.waits';
/** Time calls spent waiting for quota room. */
export const FINOPS_QUOTA_WAIT_TIME = 'bedrock_finops.quota.wait.time';
/** Calls a quota refused before sending, by reason. */
export const FINOPS_QUOTA_REFUSALS = 'bedrock_finops.quota.refusals';
/** Throttles the governor avoided (a call waited, was refused or sent to its fallback) and the 429s Bedrock answered anyway. */
export const FINOPS_QUOTA_THROTTLES = 'bedrock_finops.quota.throttles';
export const ATTR_FINOPS_QUOTA = 'bedrock_finops.quota';
export const ATTR_FINOPS_QUOTA_KEY = 'bedrock_finops.quota.key';
export const ATTR_FINOPS_QUOTA_UNIT = 'bedrock_finops.quota.unit';
export const FINOPS_PROVISIONED_TOKENS_PER_MINUTE = 'bedrock_finops.provisioned.tokens_per_minute';
export const FINOPS_PROVISIONED_MODEL_UNITS = 'bedrock_finops.provisioned.model_units';

/** Units (UCUM). */
export const UNIT_TOKEN = '{token}';
export const UNIT_SECONDS = 's';
export const UNIT_CALL = '{call}';
export const UNIT_USD = 'USD';
export const UNIT_EVENT = '{event}';

/** Semantic-convention attribute keys. */
export const ATTR_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_TOKEN_TYPE = 'gen_ai.token.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_ERROR_TYPE = 'error.type';
/** The SDK's own overflow marker, reused for the library's shape table overflow. */
export const ATTR_OVERFLOW = 'otel.metric.overflow';

/** Library attribute keys. */
export const ATTR_FINOPS_TOKEN_TYPE = 'bedrock_finops.token.type';
export const ATTR_FINOPS_OUTCOME = 'bedrock_finops.outcome';
export const ATTR_FINOPS_BUDGET = 'bedrock_finops.budget';
export const ATTR_FINOPS_BUDGET_KEY = 'bedrock_finops.budget.key';
export const ATTR_FINOPS_LIMIT_TYPE = 'bedrock_finops.limit.type';
export const ATTR_FINOPS_THRESHOLD = 'bedrock_finops.threshold';
export const ATTR_FINOPS_FALLBACK_FROM = 'bedrock_finops.fallback.from';
export const ATTR_FINOPS_FALLBACK_TO = 'bedrock_finops.fallback.to';
export const ATTR_FINOPS_REASON = 'bedrock_finops.reason';
export const ATTR_FINOPS_POLICY = 'bedrock_finops.policy';
export const ATTR_FINOPS_PROVISIONED_MODEL = 'bedrock_finops.provisioned.model';

/** `gen_ai.provider.name` for every call through this library. */
export const PROVIDER_AWS_BEDROCK = 'aws.bedrock';

/** The value a guarded attribute takes once its key has seen too many distinct values. */
export const OTHER_VALUE = '_OTHER';

/** Bucket boundaries the conventions give. */
export const TOKEN_BUCKETS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** Round trips to Redis on loopback take ~0.1-1 ms; an outage shows as the top buckets. */
export const STORE_ROUND_TRIP_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
export const DURATION_BUCKETS: readonly number[] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** Meter (instrumentation scope) name. */
export const METER_NAME = 'bedrock-finops';
