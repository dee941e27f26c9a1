// Vite build of the renderer: one bundle served by the daemon at / (headless mode) and loaded by the Electron
// window from the same daemon URL. `base: './'` keeps asset URLs relative so the bundle works from any path.
// (No node: imports here: the layer rule keeps renderer free of Node APIs.)
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const dir = (rel: string): string => decodeURIComponent(new URL(rel, import.meta.url).pathname);

export default defineConfig({
  root: dir('.'),
  base: './',
  plugins: [react()],
  build: {
    outDir: dir('../dist/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
});
