// Node-only run orchestration shared by the CLI, the demo, the benches and studies: load a backbone,
// embed images through the feature cache, train a head, graft, evaluate, predict, embed, export.
export * from './backbone.js';
export * from './features.js';
export * from './data.js';
export * from './train-image.js';
export * from './classifier.js';
export * from './evaluate.js';
export * from './embed.js';
export * from './export.js';
export * from './demo.js';
export { graftVersion } from './version.js';
