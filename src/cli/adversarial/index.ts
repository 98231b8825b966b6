import { DATA_CASES } from './data.cases.js';
import { ONNX_CASES } from './onnx.cases.js';
import { RUN_CASES } from './run.cases.js';
import { SCALE_CASES } from './scale.cases.js';
import { TEXT_CASES } from './text.cases.js';
import type { AdversarialCase } from './types.js';
import { ZOO_CASES } from './zoo.cases.js';

/** Every adversarial case module, one line each. */
export const ADVERSARIAL_CASES: readonly AdversarialCase[] = [
  ...ONNX_CASES,
  ...DATA_CASES,
  ...ZOO_CASES,
  ...RUN_CASES,
  ...SCALE_CASES,
  ...TEXT_CASES,
];
