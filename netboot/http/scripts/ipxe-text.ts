// Helpers shared by the iPXE script templates: value checks that keep parameters from breaking out of the
// line they are placed on (newlines, "${" settings expansion, separators where one token is expected).

/** Throw unless `value` is one non-empty token without whitespace, quotes, "${" or control characters. */
export function ipxeToken(value: string, what: string): string {
  if (value.length === 0 || /[\s"'\\]|\$\{|[\x00-\x1f\x7f]/.test(value)) {
    throw new RangeError(`iPXE script: ${what} ${JSON.stringify(value)} is not a single safe token`);
  }
  return value;
}

/** Throw unless `value` is one line of text (for `echo`) without "${" or control characters. */
export function ipxeText(value: string, what: string): string {
  if (/\$\{|[\x00-\x1f\x7f]/.test(value)) throw new RangeError(`iPXE script: ${what} ${JSON.stringify(value)} is not a safe line of text`);
  return value;
}

/** Throw unless `value` can name a script label (`:label`, `goto label`): letters, digits, "-" and "_". */
export function ipxeLabel(value: string, what: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(value)) throw new RangeError(`iPXE script: ${what} ${JSON.stringify(value)} is not a label`);
  return value;
}

declare const checkedLines: unique symbol;
/**
 * Script lines built by a fragment template of this folder (bundled-bios-ipxe.ts), whose parameters were checked
 * there; templates accept these where a caller may add lines (a preamble). Plain strings do not type-check as one.
 */
export type IpxeFragment = readonly string[] & { readonly [checkedLines]: true };

/** Mark lines built from checked parameters as a fragment (for fragment templates only). */
export function ipxeFragment(lines: string[]): IpxeFragment {
  return lines as unknown as IpxeFragment;
}

/** A whole script from lines: the "#!ipxe" magic first, one trailing newline. */
export function ipxeScript(lines: readonly string[]): string {
  return ['#!ipxe', ...lines].join('\n') + '\n';
}
