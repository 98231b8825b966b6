// Node-only data layer: scanning folders and manifests, decoding with sharp, batch loading, IDX files.
export * from './decode.js';
export * from './files.js';
export * from './images.js';
export * from './loader.js';
export * from './text.js';
export * from './idx.js';
export * from './pool.js';
export * from './read.js';
