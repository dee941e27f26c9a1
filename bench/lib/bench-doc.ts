// docs/BENCHMARKS.md is shared: the runner owns the header, the summary and the sections of the benches it
// writes (between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`); every other line of the file
// (other engineers' sections) is kept byte for byte.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const start = (name: string): string => `<!-- bench:${name}:start -->`;
const end = (name: string): string => `<!-- bench:${name}:end -->`;

/**
 * Replace the marked block `name` in `doc` with `body`. When the markers are missing, the block is added
 * under `heading` (appended at the end of the file, or before `beforeHeading` when that heading exists).
 */
export function replaceSection(doc: string, name: string, heading: string, body: string, beforeHeading?: string): string {
  const block = `${start(name)}\n${body.trim()}\n${end(name)}`;
  const a = doc.indexOf(start(name));
  const b = doc.indexOf(end(name));
  if (a >= 0 && b > a) return doc.slice(0, a) + block + doc.slice(b + end(name).length);
  const section = `${heading}\n\n${block}\n`;
  if (beforeHeading) {
    const at = doc.indexOf(`\n${beforeHeading}\n`);
    if (at >= 0) return `${doc.slice(0, at + 1)}${section}\n${doc.slice(at + 1)}`;
  }
  return `${doc.replace(/\n*$/, '\n\n')}${section}`;
}

export function readDoc(path: string, skeleton: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : skeleton;
}

export function writeDoc(path: string, text: string): void {
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
}
