// The boot timeline's "Console, last lines": escape sequences and control characters of the serial console (colours,
// cursor moves, the shell's `ESC [6n` cursor query, OSC titles) are removed, the text stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainConsoleText } from '../../renderer/lib/console-text.ts';

test('plainConsoleText removes ANSI/VT sequences and control characters, keeps the text', () => {
  assert.equal(plainConsoleText('rackseed-ramdisk# \x1b[6necho hi'), 'rackseed-ramdisk# echo hi');
  assert.equal(plainConsoleText('\x1b[1;32mOK\x1b[0m booted\r'), 'OK booted');
  assert.equal(plainConsoleText('\x1b]0;title\x07iPXE> \x1b[2J\x1b[H'), 'iPXE> ');
  assert.equal(plainConsoleText('a\tb\x08c\x1bMd'), 'a\tbcd', 'tabs stay');
  assert.equal(plainConsoleText('plain ümlaut line'), 'plain ümlaut line');
});
