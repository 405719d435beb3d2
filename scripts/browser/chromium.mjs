// Debian's chromium for the browser tests and benchmarks, through playwright-core (no browser download).
// --enable-unsafe-webgpu is what gives WebGPU an adapter here (SwiftShader, see ../shared/notes/browser.md).
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]);

/** Starts headless Chromium. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
}
