// ESLint over the whole tree, with typescript-eslint's type-checked rules:
// no-floating-promises and no-misused-promises catch the promise that nobody
// awaits in an event-loop server, which a syntax-only linter cannot see.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['build/', 'console/dist/', 'node_modules/', 'fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: {
        // The server's tree and the console's own (DOM, preact JSX) are two programs.
        project: ['./tsconfig.json', './console/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `async` on a function with no await is how an interface method that promises a Promise
      // turns a synchronous throw into a rejection; removing it would change behaviour.
      '@typescript-eslint/require-await': 'off',
      // Opcodes, status bytes and sense keys come off the wire as numbers and are compared with
      // enum members on purpose: the codec cannot trust a byte to be a member.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // A caught error or an abort reason is passed on as it is: wrapping it would hide the class
      // that callers test for.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // A `let` assigned once but read (by a closure) before that is a forward reference, not a constant.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A binding named `_…`, or a property left out of a `...rest`, is a deliberate omission.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON answers and tool output as `any` and assert on them: a wrong shape fails
      // the assertion, which is the check these rules would otherwise ask for.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // bin/tapegw and this file are plain JavaScript outside both programs.
    files: ['bin/tapegw', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
