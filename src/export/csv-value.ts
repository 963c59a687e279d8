/**
 * How a value is written into a reapbench CSV cell: null/undefined → empty cell; numbers
 * rounded to 6 decimals to drop floating-point noise (µs, ms and s all keep sub-µs
 * resolution) and written without exponent or trailing zeros; strings as they are.
 */
export function csvValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '';
    const r = Math.round(v * 1e6) / 1e6;
    return Object.is(r, -0) ? '0' : String(r);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}
