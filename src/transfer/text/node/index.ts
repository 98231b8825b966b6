// Node-only text transfer: loading text backbones through the model cache.
export * from './backbone.js';
