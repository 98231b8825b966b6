import type { AdversarialCase } from './types.js';
import { ZOO_CASES } from './zoo.cases.js';

/** Every adversarial case module, one line each. */
export const ADVERSARIAL_CASES: readonly AdversarialCase[] = [...ZOO_CASES];
