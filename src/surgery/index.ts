export * from './cut.js';
export * from './head.js';
export * from './freeze.js';
export * from './params.js';
export * from './compose.js';
