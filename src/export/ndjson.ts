/**
 * NDJSON (one JSON value per line, `\n`-terminated) for events.ndjson. Pure; large files are
 * streamed by results-dir.ts chunk by chunk with these helpers.
 */

/** Serialize events, one compact JSON line each. Throws TypeError for a value JSON cannot hold. */
export function serializeNdjson(events: Iterable<unknown>): string {
  let out = '';
  for (const e of events) {
    const line = JSON.stringify(e);
    if (line === undefined) throw new TypeError(`Cannot serialize ${typeof e} as an NDJSON line`);
    out += `${line}\n`;
  }
  return out;
}

/**
 * Tag one raw load-generator line with the run it came from: `{"a":1}` → `{"run":"x","a":1}`.
 * Returns null for a line that is not a complete JSON object (blank, or cut off by an
 * interrupted run), which the caller skips. The object itself is not re-parsed (cheap for
 * millions of lines); `run` is JSON-escaped.
 */
export function tagNdjsonLine(run: string, line: string): string | null {
  const s = line.trim();
  if (s.length < 2 || s[0] !== '{' || s[s.length - 1] !== '}') return null;
  const body = s.slice(1).trimStart();
  return body === '}' ? `{"run":${JSON.stringify(run)}}` : `{"run":${JSON.stringify(run)},${body}`;
}
