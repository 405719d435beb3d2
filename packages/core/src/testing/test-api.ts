/**
 * The test-runner functions the contract suite calls: jest's globals, or the jest-compatible subset the browser
 * page defines (packages/web/test/browser/harness.ts). Read from `globalThis` when the suite is declared, typed here so the kit
 * needs no test-runner types.
 */

/** The matchers the suite uses. */
export interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toContain(expected: unknown): void;
  toBeNull(): void;
  toBeGreaterThan(expected: number): void;
  toMatch(expected: RegExp | string): void;
  toThrow(expected?: RegExp | string): void;
}

/** `describe`, `it` (with `.each`), `beforeAll`, `afterAll` and `expect`. */
export interface TestApi {
  readonly describe: ((name: string, fn: () => void) => void) & {
    each(table: readonly unknown[]): (name: string, fn: (...args: never[]) => void) => void;
  };
  readonly it: ((name: string, fn: () => unknown) => void) & {
    each(table: readonly unknown[]): (name: string, fn: (...args: never[]) => unknown) => void;
  };
  beforeAll(fn: () => unknown): void;
  afterAll(fn: () => unknown): void;
  expect(actual: unknown): Matchers;
}

/**
 * The test runner's globals.
 *
 * @throws Error outside a test runner
 */
export function globalTestApi(): TestApi {
  const api = globalThis as unknown as Partial<TestApi>;
  if (typeof api.describe !== 'function' || typeof api.it !== 'function' || typeof api.expect !== 'function') {
    throw new Error('The contract suite runs inside a test runner (jest, or the browser harness) that defines describe, it and expect.');
  }
  return api as TestApi;
}
