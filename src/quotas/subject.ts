import type { Call, CallModel } from '../call.js';
import { parseModelId } from '../model/model-id.js';
import type { Attribution } from '../record.js';
import { poolOf, regionOfHost, type QuotaSubject } from './match.js';

/** What quotas see of a model a call is (or would be) sent to. */
export function quotaSubject(attribution: Attribution, modelId: string, model: Pick<CallModel, 'ref' | 'baseModelId'>, host: string | undefined): QuotaSubject {
  return {
    attribution,
    modelId,
    baseModelId: model.baseModelId,
    region: model.ref.region ?? regionOfHost(host),
    pool: poolOf(model.ref),
    provisioned: model.ref.kind === 'provisioned-model',
  };
}

/** The subject of a call as it is about to be sent. */
export function callSubject(call: Call): QuotaSubject {
  return quotaSubject(call.attribution, call.modelId, call.model, call.serverAddress);
}

/** The subject of a model id alone (no attribution): for throttles, which only say the model. */
export function modelSubject(modelId: string, baseModelId: string | undefined): QuotaSubject {
  const ref = parseModelId(modelId);
  return quotaSubject({}, modelId, { ref, baseModelId: baseModelId ?? ref.baseModelId }, undefined);
}
