// Browser-safe data layer: preprocessing math, augmentation, splits, label maps, reports. File reading and
// decoding live in ./node/ (sharp, fs) and are imported from 'graft/data/node' only.
export * from './preprocessing.js';
export * from './image.js';
export * from './augment.js';
export * from './labels.js';
export * from './split.js';
export * from './report.js';
export * from './dataset.js';
export * from './text.js';
export * from './limits.js';
