import { MemoryBudgetStore } from '../../src/budgets/index.js';
import { describeStoreContract } from '../shared/store-contract.js';

describeStoreContract('memory', () => new MemoryBudgetStore());
