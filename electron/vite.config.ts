// Bundles Electron main and preload to CommonJS in dist/electron (main.cjs, preload.cjs), one build per
// entry (`--mode main`, `--mode preload`) so each is a single self-contained file: a sandboxed preload cannot
// require anything but `electron`. Main is CommonJS too so `__dirname` locates preload.cjs.
// `electron` and Node built-ins stay external. Run: npm run build:electron
import { defineConfig } from 'vite';

const dir = (rel: string): string => decodeURIComponent(new URL(rel, import.meta.url).pathname);

export default defineConfig(({ mode }) => {
  if (mode !== 'main' && mode !== 'preload') throw new Error('build with --mode main or --mode preload');
  return {
    root: dir('.'),
    build: {
      ssr: true,
      outDir: dir('../dist/electron'),
      emptyOutDir: mode === 'main',
      target: 'node20',
      minify: false,
      sourcemap: false,
      rollupOptions: {
        input: { [mode]: dir(`${mode}.ts`) },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs', inlineDynamicImports: true },
      },
    },
  };
});
