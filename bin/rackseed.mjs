#!/usr/bin/env node
// Entry point for `npx rackseed …`: runs the TypeScript CLI through tsx (no build step needed).
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
register('tsx/esm', pathToFileURL('./'));
const here = dirname(fileURLToPath(import.meta.url));
await import(pathToFileURL(join(here, '..', 'src', 'daemon', 'cli', 'main.ts')).href);
