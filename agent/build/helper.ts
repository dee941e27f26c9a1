// Compiles the ramdisk's one C helper, agent/ramdisk/rackseed-zero.c (the deploy agent's BLKZEROOUT and zero check,
// see its header), with the build machine's gcc: freestanding x86-64, no libc, static, stripped — a few KB that run
// on any x86-64 Linux kernel. Deterministic for a given gcc (no build id, no file names kept), so the initrd stays
// reproducible; gcc's version is part of the ramdisk's inputs key.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HELPER_SOURCE = 'rackseed-zero.c';
export const HELPER_PATH = 'usr/libexec/rackseed/rackseed-zero';

const FLAGS = ['-static', '-nostdlib', '-ffreestanding', '-fno-builtin', '-fno-stack-protector', '-fno-asynchronous-unwind-tables',
  '-fno-pie', '-no-pie', '-Os', '-Wall', '-Wextra', '-Werror', '-Wl,--build-id=none', '-s'];

/** `gcc --version`'s first line, or throws the install hint (Debian: gcc). */
export function gccVersion(): string {
  try {
    return execFileSync('gcc', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch {
    throw new Error('gcc is not installed: the ramdisk\'s rackseed-zero helper is compiled at build time (apt-get install gcc; npm run setup installs it)');
  }
}

/** The compiled helper's bytes. `srcDir`: agent/ramdisk. */
export function compileHelper(srcDir: string): Buffer {
  const work = mkdtempSync(join(tmpdir(), 'rs-ramdisk-helper-'));
  try {
    const out = join(work, 'rackseed-zero');
    execFileSync('gcc', [...FLAGS, '-o', out, join(srcDir, HELPER_SOURCE)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    return readFileSync(out);
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`compiling ${HELPER_SOURCE} failed: ${e.stderr?.toString().trim().split('\n').slice(0, 5).join(' / ') || e.message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
