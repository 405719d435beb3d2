export { WorkerPoolBackend, defaultThreadsPerWorker } from './worker-backend.js';
export type { WorkerPoolOptions } from './worker-backend.js';
