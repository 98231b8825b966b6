import type { ModelEntry } from '../types.js';
import { HF_MODELS } from './huggingface.js';
import { NPM_TEXT_MODELS } from './npm-text.js';
import { NPM_VISION_MODELS } from './npm-vision.js';

/** Every entry Graft ships, in listing order. */
export const BUILTIN_MODELS: readonly ModelEntry[] = [...NPM_VISION_MODELS, ...NPM_TEXT_MODELS, ...HF_MODELS];
