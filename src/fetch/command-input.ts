import type { OperationInfo } from '../model/operations.js';
import { parseJsonObject } from '../usage/json.js';
import type { ReplayableBody } from './outgoing.js';

/**
 * The SDK command input a REST request stands for, as admission and estimators expect it:
 * InvokeModel `{ modelId, body }` (the body as sent), Converse `{ modelId, ...the JSON body }`.
 * A Converse body is parsed only when something reads the input (an estimator, when budgets are
 * on): a call without budgets never pays for the parse.
 */
export function commandInput(info: OperationInfo, modelId: string, body: ReplayableBody | undefined): object {
  if (info.delivery === 'invoke' || info.delivery === 'invoke-stream') return body === undefined ? { modelId } : { modelId, body };
  let fields: Readonly<Record<string | symbol, unknown>> | undefined;
  const read = (): Readonly<Record<string | symbol, unknown>> => (fields ??= { ...parseJsonObject(body), modelId });
  return new Proxy(
    {},
    {
      get: (_target, key) => read()[key],
      has: (_target, key) => key in read(),
      ownKeys: () => Reflect.ownKeys(read()),
      getOwnPropertyDescriptor: (_target, key) => {
        const f = read();
        return Object.hasOwn(f, key) ? { value: f[key], enumerable: true, configurable: true, writable: false } : undefined;
      },
    },
  );
}
