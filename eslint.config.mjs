import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * The layering of the package, enforced rather than kept by convention (docs/ARCHITECTURE.md):
 * - lib/ is the framework-free core: it never imports Node-RED (`node-red`, `@node-red/*`, the test
 *   helper) or express, nothing in nodes/, and nothing from test/ or bench/; not even `import type`, so
 *   the core type-checks and runs without Node-RED.
 * - nodes/ holds the Node-RED adapters: they import lib/ (never the other way round) and `node-red` for
 *   its types only (`import type`): node-red is a devDependency, absent from a user's install.
 * - Neither ships test-only packages (mocha, fast-check, ajv, playwright-core, the test helper): they
 *   are devDependencies too, so importing one would work in this repository and fail once installed.
 * Relative paths are matched by regular expression on the specifier, so every spelling (`../nodes/x`,
 * `../../nodes/shared/x`) is caught.
 * (No file-level duplicated blocks is the other rule of docs/ARCHITECTURE.md; it is checked by review with
 * a clone detector, not here: the linter has no rule for it and none is added as a dependency.)
 */
const TEST_ONLY = {
  paths: ['mocha', 'fast-check', 'ajv', 'ajv-formats', 'playwright-core', 'node-red-node-test-helper'],
  message: 'test-only packages are devDependencies: they are not installed with the package.',
};
const NOT_SHIPPED = {
  regex: '(^|/)(test|bench)(/|$)',
  message: 'test/ and bench/ are not part of the package.',
};

function restricted({ paths, message }) {
  return paths.map((name) => ({ name, message }));
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.node-red/**',
      '.node-red-postgres/**',
      '.compat/**',
      'scripts/**',
      // Plain JavaScript run against an old build (test/fixtures/make-0.1.0-store.js), not this project.
      'test/fixtures/*.js',
      'bin/**',
      'eslint.config.mjs',
      'nodes/**/*.html',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The editor script runs in the browser, in Node-RED's editor: plain ES5 with the editor's globals.
    files: ['resources/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        RED: 'readonly',
        $: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        Promise: 'readonly',
      },
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node-red',
              message: 'lib/ is framework-free: Node-RED belongs to the adapters in nodes/.',
            },
            {
              name: 'express',
              message: 'lib/api is a router over plain (req, res, next): it does not depend on express.',
            },
            ...restricted(TEST_ONLY),
          ],
          patterns: [
            {
              regex: '^(node-red|@node-red)/',
              message: 'lib/ is framework-free: Node-RED belongs to the adapters in nodes/.',
            },
            {
              regex: '(^|/)nodes(/|$)',
              message: 'lib/ never imports nodes/: the adapters depend on the core, not the other way round.',
            },
            NOT_SHIPPED,
          ],
        },
      ],
    },
  },
  {
    files: ['nodes/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node-red',
              allowTypeImports: true,
              message: 'node-red is a devDependency: import its types only (`import type`).',
            },
            ...restricted(TEST_ONLY),
          ],
          patterns: [
            {
              regex: '^(node-red|@node-red)/',
              allowTypeImports: true,
              message: 'Node-RED modules are not installed with the package: import types only.',
            },
            NOT_SHIPPED,
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
