#!/usr/bin/env node
// Entry point for `npx rackseed …`: runs the TypeScript CLI through tsx (no build step needed).
// tsx 4 registers its ESM loader through its API (`tsx/esm/api`), resolved from this package, not the cwd.
import { register } from 'tsx/esm/api';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
register();
const here = dirname(fileURLToPath(import.meta.url));
await import(pathToFileURL(join(here, '..', 'src', 'daemon', 'cli', 'main.ts')).href);
