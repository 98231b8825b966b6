export * from './dtype.js';
export * from './tensor.js';
export * from './graph.js';
export * from './attrs.js';
export * from './builder.js';
export * from './check.js';
export { decodeModel, encodeModel, type DecodeOptions } from './codec.js';
export { inferShapes, type InferShapesOptions } from './shapes.js';
