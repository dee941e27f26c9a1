// Console log lines as plain text for the boot timeline: ANSI/VT escape sequences (colours, cursor moves, the
// shell's line editing) and other control characters removed; the live terminal (xterm.js) renders them instead.

const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

export function plainConsoleText(line: string): string {
  return line.replace(ESCAPES, '');
}
