// ts-reaper's log lines in both formats: pure string building.
import { describe, expect, it } from 'vitest';
import { formatMessage, formatReapJson, type ReapRecord } from '../../src/reaper/log.js';

const base: ReapRecord = { pid: 42, comm: 'sleep', role: 'adopted', status: 0, seenToReapedUs: 12.345 };

describe('ts-reaper log format', () => {
  it('text messages keep the historical `ts-reaper: ` form', () => {
    expect(formatMessage('text', 'warning', 'warning: x')).toBe('ts-reaper: warning: x\n');
  });

  it('JSON messages are one object per line with level and text', () => {
    const line = formatMessage('json', 'info', 'started "sh"\nas pid 3');
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ event: 'message', level: 'info', text: 'started "sh"\nas pid 3' });
    expect(JSON.parse(line).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it.each([
    [0x0300, { exit_status: 3, exit_code: 3, signal: null, core_dumped: false }],
    [0x0000, { exit_status: 0, exit_code: 0, signal: null, core_dumped: false }],
    [0xff00, { exit_status: 255, exit_code: 255, signal: null, core_dumped: false }],
    [15, { exit_status: 143, exit_code: null, signal: 'SIGTERM', core_dumped: false }],
    [9, { exit_status: 137, exit_code: null, signal: 'SIGKILL', core_dumped: false }],
    [6 | 0x80, { exit_status: 134, exit_code: null, signal: 'SIGABRT', core_dumped: true }],
    [40, { exit_status: 168, exit_code: null, signal: 'SIG40', core_dumped: false }],
  ])('a reap with wait status %i has %j', (status, want) => {
    const o = JSON.parse(formatReapJson({ ...base, status }));
    expect(o).toMatchObject({ event: 'reap', pid: 42, comm: 'sleep', role: 'adopted', ...want });
  });

  it('rounds the seen-to-reaped time to 0.1 µs and keeps a null comm (unreadable)', () => {
    expect(JSON.parse(formatReapJson(base)).seen_to_reaped_us).toBe(12.3);
    const unread = JSON.parse(formatReapJson({ ...base, comm: null, role: 'command' }));
    expect(unread).toMatchObject({ comm: null, seen_to_reaped_us: 12.3, role: 'command' });
  });
});
