// The browser recipes: what a page or a worker calls to train, with no file system (models and images
// arrive as bytes and pixels). Re-exported by the browser entry (src/browser.ts).
export * from './backbone.js';
export * from './device.js';
export * from './finetune.js';
