// ESLint flat config: typescript-eslint's recommended rules over all TypeScript sources.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // src/rbm/wasm: AssemblyScript, typed and checked by its compiler (scripts/build-wasm.ts).
  { ignores: ['node_modules/**', 'web/dist/**', 'data/**', 'test-results/**', 'coverage/**', 'scratch/**', 'src/rbm/wasm/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // CommonJS configuration files of tools that require it (dependency-cruiser).
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
);
