import type { QuotaAmount } from './amount.js';

/** A call waiting in a governor's queue for quota room; `finish` hands it its outcome (a hold or a refusal). */
export interface Waiter<Outcome> {
  readonly team: string;
  readonly weight: number;
  readonly need: QuotaAmount;
  readonly id: string;
  readonly since: number;
  retryAt: number | undefined;
  done: boolean;
  cleanup: () => void;
  readonly finish: (outcome: Outcome) => void;
}

let lastId = 0;
/** Hold ids: unique in this process (stores keep them locally; slices in Redis have their own). */
export const nextId = (): string => `h${(++lastId).toString(36)}`;
