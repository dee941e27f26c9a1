// Text from a node (its serial console log, names and reasons a BMC reports) printed to an engineer's terminal:
// a hostile or broken node must not drive that terminal (set its title, move the cursor, rewrite the screen,
// answer-back sequences that type into the shell, hyperlinks, clipboard writes through OSC 52, …). visibleControls()
// keeps what a log reader needs — line ends (\n, \r), tabs and every printable character — and shows every
// other control visibly instead of sending it, like `cat -v`: C0 controls in caret notation (ESC → ^[, BEL → ^G,
// NUL → ^@), DEL → ^?, C1 controls (U+0080–U+009F, which some terminals take as CSI/OSC in UTF-8 too) and the bidi
// overrides/isolates (which reorder what is shown) as \xNN / \u{NNNN}. JSON output needs jsonVisible() instead.

const HIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function show(c: string): string {
  const code = c.charCodeAt(0);
  if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
  if (code === 0x7f) return '^?';
  if (code <= 0x9f) return `\\x${code.toString(16).toUpperCase()}`;
  return `\\u{${code.toString(16).toUpperCase()}}`;
}

/** `text` with every control but \n, \r and \t made visible (see above). */
export function visibleControls(text: string): string {
  return text.replace(HIDDEN, show);
}

// JSON.stringify escapes U+0000–U+001F but prints DEL, the C1 controls and the bidi characters as they are.
const JSON_RAW = /[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** JSON text of `v` (2-space indent) with no character that could drive a terminal: the same value, escaped. */
export function jsonVisible(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
