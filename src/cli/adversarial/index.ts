import { DATA_CASES } from './data.cases.js';
import type { AdversarialCase } from './types.js';

/** Every adversarial case module, one line each. */
export const ADVERSARIAL_CASES: readonly AdversarialCase[] = [...DATA_CASES];
