/**
 * The interrupt handler (runtime/cleanup.ts) writes to no stream itself: its lines go to the
 * callback the caller passed (reapbench's output object). After a second Ctrl-C it names the
 * command that removes what this run left, with this run's id, and exits 130 at once.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('interrupt handler notices', () => {
  it('a second SIGINT: the clean --run hint with this run id, through the callback, exit 130', async () => {
    const child = execa(process.execPath, [path.join(root, 'test/support/second-signal-fixture.mjs')], { reject: false });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /^ready [0-9a-f]{12}$/m.test(out), { what: 'the fixture to be ready', detail: () => out });
    const runId = /^ready ([0-9a-f]{12})$/m.exec(out)![1]!;
    child.kill('SIGINT');
    await waitFor(() => out.includes('duplicate window over'), { what: 'the first SIGINT to be handled', detail: () => out });
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`NOTICE reapbench: left at once; run reapbench clean --run ${runId} to remove what this run may have left`);
  });

  it('the same SIGINT twice at once (GNU timeout: to the command, then to its group) is one interrupt; a later one is the second', async () => {
    const child = execa(process.execPath, [path.join(root, 'test/support/second-signal-fixture.mjs')], { reject: false });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /^ready [0-9a-f]{12}$/m.test(out), { what: 'the fixture to be ready', detail: () => out });
    child.kill('SIGINT');
    child.kill('SIGINT');
    await waitFor(() => out.includes('duplicate window over'), { what: 'the duplicate window to pass', detail: () => out });
    // Still there, interrupted once, and no "left at once".
    expect(child.exitCode).toBeNull();
    expect(out.match(/first SIGINT/g)).toHaveLength(1);
    expect(out).not.toContain('NOTICE');
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stdout).toContain('NOTICE reapbench: left at once');
  });

  it('no module of runtime/ writes to stdout or stderr itself', () => {
    const dir = path.join(root, 'src/runtime');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      expect(readFileSync(path.join(dir, f), 'utf8'), f).not.toMatch(/process\.std(err|out)\.write|console\.(log|error|warn)/);
    }
  });
});
