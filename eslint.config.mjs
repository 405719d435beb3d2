// ESLint flat config for the whole monorepo. Besides typescript-eslint's recommended rules it enforces the layering
// of STYLE.md: core imports no runtime binding, no sharp and no node:* module; the web package imports no node:*
// module; no package imports another one's sources by relative path.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const runtimeBindings = ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-web/*', 'onnxruntime-common', 'sharp'];
const nodeBuiltins = { group: ['node:*'], message: 'This package runs in browsers too: no Node built-ins.' };
const otherPackagesSources = { group: ['../../*/src/*', '../../../*/src/*'], message: 'Import a workspace package by its name.' };

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'out/**', 'coverage/**', '**/*.d.ts', 'examples/web-demo/public/**', '.cache/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser }, ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-imports': ['error', { patterns: [otherPackagesSources] }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: runtimeBindings
            .filter((name) => !name.includes('*'))
            .map((name) => ({ name, message: 'core knows no runtime: put this in an adapter package.' })),
          patterns: [nodeBuiltins, { group: runtimeBindings, message: 'core knows no runtime: put this in an adapter package.' }, otherPackagesSources],
        },
      ],
    },
  },
  {
    files: ['packages/web/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['onnxruntime-node', 'sharp'], patterns: [nodeBuiltins, otherPackagesSources] }],
    },
  },
  {
    // The shared onnxruntime layer is typed against onnxruntime-common (type imports) and runs in browsers too.
    files: ['packages/ort-common/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['onnxruntime-node', 'onnxruntime-web', 'sharp'], patterns: [nodeBuiltins, otherPackagesSources] }],
    },
  },
  {
    // Pages bundled by esbuild straight from the sources (the browser tests and bench:web): they import the packages'
    // src by path, since nothing is built or installed for them.
    files: ['packages/web/test/browser/**/*.ts', 'bench/web-page.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  prettier,
);
