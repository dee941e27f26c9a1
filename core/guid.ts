// Matching a BMC's System GUID (IPMI Get System GUID) to the SMBIOS UUID the agent reports.
// SMBIOS 2.6+ stores the first three fields little-endian, and BMCs differ in whether they swap them, so two
// identifiers match when they are equal either as written or with the first three fields byte-swapped.

/** Lower-case dashed form of a 128-bit id given as 32 hex digits with optional dashes/braces; null if not one. */
export function normalizeGuid(input: string | null | undefined): string | null {
  if (!input) return null;
  const hex = input.trim().toLowerCase().replace(/[{}-]/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The same id with time_low, time_mid and time_hi byte-swapped (mixed-endian ↔ big-endian). */
export function swapGuidFields(guid: string): string {
  const g = normalizeGuid(guid);
  if (!g) throw new Error(`not a GUID: ${guid}`);
  const rev = (s: string) => s.match(/../g)!.reverse().join('');
  const [a, b, c, ...rest] = g.split('-');
  return [rev(a!), rev(b!), rev(c!), ...rest].join('-');
}

/** True when `bmcGuid` and `smbiosUuid` denote the same machine (case-insensitive, either byte order). All-zero/all-ff ids never match. */
export function guidsMatch(bmcGuid: string | null | undefined, smbiosUuid: string | null | undefined): boolean {
  const a = normalizeGuid(bmcGuid);
  const b = normalizeGuid(smbiosUuid);
  if (!a || !b) return false;
  if (/^[0-]+$/.test(a) || /^[f-]+$/.test(a)) return false;
  return a === b || swapGuidFields(a) === b;
}
