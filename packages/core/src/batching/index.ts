export { Batching } from './monitor.js';
export type { BatchingStats } from './monitor.js';
export { BATCHING_DEFAULTS } from './options.js';
export type { BatchEvent, BatchingOptions, BatchingSettings } from './options.js';
