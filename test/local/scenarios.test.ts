/**
 * Parts of the scenario library that read real processes through /proc (the pure parts are in
 * test/unit/scenarios.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { displayName } from '../../src/scenarios/observer.js';
import { readCmdline } from '../../src/procfs/process.js';
import { waitFor } from '../support/wait.js';

describe('observer', () => {
  it('names a Node process after its script, whatever the extension (.cjs, .mjs, none)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reapbench-name-'));
    try {
      for (const file of ['ts-reaper.cjs', 'loadgen.mjs', 'ts-reaper']) {
        const script = path.join(dir, file);
        writeFileSync(script, 'setTimeout(() => {}, 20000);\n');
        // Like the image's launcher: a Node option before the script, arguments after it.
        const p = spawn(process.execPath, ['--v8-pool-size=1', script, '-v', '--', 'sleep'], { stdio: 'ignore' });
        try {
          // Until the exec, /proc shows the forked copy of this test process and its argv.
          await waitFor(() => readCmdline(p.pid!)?.includes(script), {
            what: `node ${file} to exec`,
            detail: () => `argv: ${JSON.stringify(readCmdline(p.pid!))}`,
          });
          expect(displayName(p.pid!, 'node')).toBe(file.replace(/\.[cm]js$/, ''));
        } finally {
          p.kill('SIGKILL');
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
