// The module worker of the browser tests' Web Worker checks (page.ts): serves a VAE to the page.
import { serveVaeInWorker } from '../../../web/src/index';

serveVaeInWorker();
