/**
 * FNV-1a (32-bit) of a string, as 8 hex digits: pure and deterministic, so workflows may use it too. It takes
 * the string's UTF-16 code units (for ASCII, the same as FNV-1a over the bytes), so two different strings
 * never hash alike for a reason other than chance. For short disambiguating suffixes of names, not security.
 */
export function fnv1a32(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
