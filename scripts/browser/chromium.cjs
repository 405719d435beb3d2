// Debian's chromium for the browser tests, benchmarks and the demo's smoke test, through playwright-core (no browser
// download). --enable-unsafe-webgpu is what gives WebGPU an adapter here (SwiftShader, see ../shared/notes/browser.md).
// CommonJS, so that the .mjs runners and the jest tests (which cannot load .mjs) share this one copy.
const { chromium } = require('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]);

/** Starts headless Chromium. */
function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
}

module.exports = { CHROMIUM, CHROMIUM_ARGS, launchChromium };
