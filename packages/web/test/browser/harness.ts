/**
 * A jest-compatible subset for the browser page, so the contract suite (packages/core/src/testing/contract.ts)
 * runs unchanged in Chromium: `describe`, `describe.each`, `it`, `it.each`, `beforeAll`, `afterAll`, and `expect`
 * with the matchers the suites use. Importing this module installs them as globals; {@link runTests} runs what was
 * registered, in order, and returns one result per test.
 */

type Hook = () => unknown;
interface Test {
  readonly name: string;
  readonly fn: Hook;
}
interface Suite {
  readonly name: string;
  readonly children: (Suite | Test)[];
  readonly beforeAll: Hook[];
  readonly afterAll: Hook[];
}

/** The outcome of one test: `known-failure` failed as expected (see `reason`); one that passes instead fails. */
export interface TestResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped' | 'known-failure';
  readonly ms: number;
  readonly error?: string;
  readonly reason?: string;
}

/** Which tests run, and which are expected to fail, by full name (`suite > ... > test`). */
export interface RunOptions {
  /** Why a test is not run here, or `null` to run it. */
  readonly skip?: (name: string) => string | null;
  /** Why a test is expected to fail here, or `null`. */
  readonly knownFailure?: (name: string) => string | null;
  /** Called with each result as it comes. */
  readonly onResult?: (result: TestResult) => void;
}

const root: Suite = { name: '', children: [], beforeAll: [], afterAll: [] };
let current = root;
// Generous: WebGPU here is SwiftShader (exact but slow), and under a loaded CI machine a kl-f8 case on it has taken
// over 60 s.
const TEST_TIMEOUT_MS = 180_000;

function format(title: string, args: readonly unknown[]): string {
  let i = 0;
  return title.replace(/%[sidpfj]/g, () => {
    const value = args[i++];
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  });
}

function rows(table: readonly unknown[]): unknown[][] {
  return table.map((row) => (Array.isArray(row) ? row : [row]));
}

function describe(name: string, fn: () => void): void {
  const suite: Suite = { name, children: [], beforeAll: [], afterAll: [] };
  current.children.push(suite);
  const parent = current;
  current = suite;
  try {
    fn();
  } finally {
    current = parent;
  }
}
describe.each = (table: readonly unknown[]) => (name: string, fn: (...args: unknown[]) => void) => {
  for (const row of rows(table)) describe(format(name, row), () => fn(...row));
};

function it(name: string, fn: Hook): void {
  current.children.push({ name, fn });
}
it.each = (table: readonly unknown[]) => (name: string, fn: (...args: unknown[]) => unknown) => {
  for (const row of rows(table)) it(format(name, row), () => fn(...row));
};

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function show(value: unknown): string {
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name}(${Array.from(value as unknown as ArrayLike<number>)
      .slice(0, 8)
      .join(', ')}...)`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 300 ? `${text.slice(0, 300)}...` : text;
  } catch {
    return String(value);
  }
}

function matchers(actual: unknown, negate: boolean) {
  const check = (pass: boolean, message: string): void => {
    if (pass === negate) throw new Error(`expect(${show(actual)})${negate ? '.not' : ''}.${message}`);
  };
  return {
    toBe: (expected: unknown) => check(Object.is(actual, expected), `toBe(${show(expected)})`),
    toEqual: (expected: unknown) => check(deepEqual(actual, expected), `toEqual(${show(expected)})`),
    toBeNull: () => check(actual === null, 'toBeNull()'),
    toBeGreaterThan: (expected: number) => check((actual as number) > expected, `toBeGreaterThan(${expected})`),
    toBeLessThan: (expected: number) => check((actual as number) < expected, `toBeLessThan(${expected})`),
    toContain: (expected: unknown) => check((actual as { includes(v: unknown): boolean }).includes(expected), `toContain(${show(expected)})`),
    toMatch: (expected: RegExp | string) =>
      check(typeof actual === 'string' && (typeof expected === 'string' ? actual.includes(expected) : expected.test(actual)), `toMatch(${String(expected)})`),
    toThrow: (expected?: string) => {
      let thrown: unknown = null;
      try {
        (actual as () => unknown)();
      } catch (error) {
        thrown = error ?? 'undefined';
      }
      const message = thrown === null ? '' : String((thrown as Error)?.message ?? thrown);
      check(
        thrown !== null && (expected === undefined || message.includes(expected)),
        `toThrow(${show(expected)}) but ${thrown === null ? 'nothing was thrown' : `threw ${show(message)}`}`,
      );
    },
  };
}

function expect(actual: unknown) {
  return { ...matchers(actual, false), not: matchers(actual, true) };
}

function withTimeout(fn: Hook, label: string): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} took longer than ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS);
  });
  return Promise.race([Promise.resolve().then(fn), timeout]).finally(() => clearTimeout(timer));
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function fullNames(suite: Suite, path: string[]): string[] {
  const names = suite.name ? [...path, suite.name] : path;
  return suite.children.flatMap((child) => ('children' in child ? fullNames(child, names) : [[...names, child.name].join(' > ')]));
}

async function runSuite(suite: Suite, path: string[], results: TestResult[], options: RunOptions): Promise<void> {
  const names = suite.name ? [...path, suite.name] : path;
  const onResult = options.onResult ?? (() => {});
  // A suite whose tests are all skipped runs no hooks (they would load models for nothing).
  if (options.skip && fullNames(suite, path).every((name) => options.skip!(name) !== null)) {
    for (const name of fullNames(suite, path)) {
      const result: TestResult = { name, status: 'skipped', ms: 0, reason: options.skip(name)! };
      results.push(result);
      onResult(result);
    }
    return;
  }
  let setupError: string | null = null;
  for (const hook of suite.beforeAll) {
    try {
      await withTimeout(hook, 'beforeAll');
    } catch (error) {
      setupError = `beforeAll: ${describeError(error)}`;
      break;
    }
  }
  for (const child of suite.children) {
    if ('children' in child) {
      await runSuite(child, names, results, options);
      continue;
    }
    const name = [...names, child.name].join(' > ');
    const start = performance.now();
    const skipped = options.skip?.(name) ?? null;
    let result: TestResult;
    if (skipped !== null) result = { name, status: 'skipped', ms: 0, reason: skipped };
    else if (setupError !== null) result = { name, status: 'failed', ms: 0, error: setupError };
    else {
      try {
        await withTimeout(child.fn, name);
        result = { name, status: 'passed', ms: performance.now() - start };
      } catch (error) {
        result = { name, status: 'failed', ms: performance.now() - start, error: describeError(error) };
      }
      const known = options.knownFailure?.(name) ?? null;
      if (known !== null) {
        result =
          result.status === 'failed'
            ? { ...result, status: 'known-failure', reason: known }
            : { ...result, status: 'failed', error: `expected to fail (${known}) but passed; remove it from the known failures` };
      }
    }
    results.push(result);
    onResult(result);
  }
  for (const hook of suite.afterAll) {
    try {
      await withTimeout(hook, 'afterAll');
    } catch (error) {
      const result: TestResult = { name: [...names, 'afterAll'].join(' > '), status: 'failed', ms: 0, error: describeError(error) };
      results.push(result);
      onResult(result);
    }
  }
}

/** Runs the registered tests in order. */
export async function runTests(options: RunOptions = {}): Promise<TestResult[]> {
  const results: TestResult[] = [];
  await runSuite(root, [], results, options);
  return results;
}

Object.assign(globalThis, {
  describe,
  it,
  test: it,
  expect,
  beforeAll: (fn: Hook) => current.beforeAll.push(fn),
  afterAll: (fn: Hook) => current.afterAll.push(fn),
});
