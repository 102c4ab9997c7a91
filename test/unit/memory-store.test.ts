import { MemoryBudgetStore } from '../../src/index.js';
import { describeStoreContract } from '../shared/store-contract.js';

describeStoreContract('memory', () => new MemoryBudgetStore());
