export * from './session.js';
export { detectBackends, type SupportedBackend } from './ort.js';
