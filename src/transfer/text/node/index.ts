// Node-only text transfer: loading text backbones through the model cache, predictions from run folders.
export * from './backbone.js';
export * from './predict.js';
