// eslint.config.mjs: the lint gate (npm run lint, also run by .ci/run).
//
// src/ is linted with type information (typescript-eslint's recommended
// type-checked set and a few rules of its strict set that find real bugs, not
// taste); test/, bench/, harness/ and scripts/ in whichever of JavaScript or
// TypeScript they are written. Formatting is prettier's job, never eslint's.
//
// Import cycles are errors (import-x/no-cycle, with dynamic import() and a
// require() in a module counted). import-x never follows a type-only import
// (`import type`, or every specifier marked `type`), and builds no graph
// from a CommonJS file: scripts/check-cycles.js, also run by npm run lint,
// finds those cycles (test/unit/lint-cycle.test.ts shows both at work).
// test/ and bench/ never import each other; what both need lives in harness/.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';

// Rules from typescript-eslint's strict sets that catch mistakes in this code
// base's style: switches over unions, needless comparisons, deprecated APIs.
// Left out: no-unnecessary-condition, which reads a check of `this.closed`
// after an await as dead (TypeScript keeps the narrowing across the await)
// and every runtime check of a public option's type as needless, though
// JavaScript callers pass anything.
const strictPicks = {
  '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
  '@typescript-eslint/no-unnecessary-boolean-literal-compare': 'error',
  '@typescript-eslint/no-unnecessary-template-expression': 'error',
  '@typescript-eslint/no-non-null-asserted-nullish-coalescing': 'error',
  '@typescript-eslint/no-deprecated': 'error',
};

// Off everywhere: this code matches terminal control bytes on purpose (the
// escape helper, and the tests that check it), and a run of spaces in a
// pattern mirrors the aligned columns of the output it matches.
const jsPicks = {
  'no-control-regex': 'off',
  'no-regex-spaces': 'off',
};

const unusedVars = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }];

const importRules = {
  'import-x/no-cycle': ['error', { commonjs: true }],
  'import-x/no-self-import': 'error',
  'import-x/no-restricted-paths': [
    'error',
    {
      zones: [
        { target: './test', from: './bench', message: 'test/ and bench/ never import each other: share through harness/.' },
        { target: './bench', from: './test', message: 'test/ and bench/ never import each other: share through harness/.' },
      ],
    },
  ],
};

export default defineConfig(
  globalIgnores(['dist/', 'build/', 'node_modules/', 'native/', 'bench/results/', '**/*.json']),
  {
    plugins: { 'import-x': importX },
    settings: {
      // import-x builds the import graph only from files it can parse: without
      // these two it reads no .ts file and no-cycle sees no edge in src/.
      'import-x/extensions': ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts', '.cts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' }), createNodeResolver()],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  { rules: jsPicks },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      ...strictPicks,
      ...importRules,
      '@typescript-eslint/no-unused-vars': unusedVars,
    },
  },
  {
    // TypeScript outside src/ (test/ as it moves to TypeScript, harness/,
    // fixtures): the syntactic rules only, since tsconfig.json covers src/
    // alone. Point parserOptions.project at tsconfig.test.json once it exists
    // to lint these with types too.
    files: ['{test,bench,harness,scripts,examples}/**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      ...importRules,
      '@typescript-eslint/no-unused-vars': unusedVars,
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: {
      ...importRules,
      'no-unused-vars': unusedVars,
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: globals.node },
    rules: importRules,
  },
);
