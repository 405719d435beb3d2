// The module worker of the browser tests' Web Worker checks (page.ts): serves a VAE to the page.
import { serveVaeInWorker } from '../../packages/web/src/index';

serveVaeInWorker();
