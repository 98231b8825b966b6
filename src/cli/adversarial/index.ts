import type { AdversarialCase } from './types.js';

/** Every adversarial case module, one line each. */
export const ADVERSARIAL_CASES: readonly AdversarialCase[] = [];
