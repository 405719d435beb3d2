import type { Config } from 'jest';

// One config for every package. Tests run from TypeScript sources (transpiled by swc, type-checked by `tsc -b`
// before jest in `pnpm test`); workspace imports resolve to the packages' src.
const config: Config = {
  // Shares the host realm's typed arrays with the test realm, so onnxruntime's `instanceof Float32Array` checks
  // pass (jest #11864, onnxruntime #16622). See scripts/jest/environment.cjs.
  testEnvironment: '<rootDir>/scripts/jest/environment.cjs',
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
    // cookie 2 (under Fastify's inject, through light-my-request) ships only ES modules, which jest on Node 20 cannot
    // require; it is compiled to CommonJS like the sources.
    '/node_modules/\\.pnpm/cookie@2[^/]*/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(\\.pnpm/cookie@2|cookie/))'],
  moduleNameMapper: {
    // Every workspace package @onnx-vae/NAME lives in packages/NAME; subpath exports map to src/SUBPATH/index.ts.
    '^@onnx-vae/([a-z0-9-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^@onnx-vae/([a-z0-9-]+)/([a-z0-9-]+)$': '<rootDir>/packages/$1/src/$2/index.ts',
    // @onnx-vae/web's onnxruntime-web import, loaded in the host realm (scripts/jest/ort-web-environment.cjs).
    '^#ort$': '<rootDir>/scripts/jest/ort-web-host.cjs',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  reporters: ['default', '<rootDir>/scripts/jest/summary-reporter.cjs'],
  testTimeout: 120_000,
  maxWorkers: 2,
};

export default config;
