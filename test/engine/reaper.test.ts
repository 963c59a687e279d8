/**
 * ts-reaper as PID 1 of a real container: it reaps adopted orphans, passes the child's exit
 * status through, and honours `docker stop` (SIGTERM → 143) well inside the grace period,
 * where a Node PID 1 without a handler waits out the grace and dies by SIGKILL (137).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { getThreadSlice } from '../../src/ffi/sched.js';
import type Docker from 'dockerode';
import { runContainer } from '../../src/runtime/container.js';
import type { ImageSet } from '../../src/images/build.js';
import { COUNT_ZOMBIES_SH, docker, ORPHANS_GONE_SH, shWaitFor, testImages } from '../support/engine.js';
import { childrenOf } from '../support/proc.js';
import { waitFor } from '../support/wait.js';

let d: Docker;
let images: ImageSet;

beforeAll(async () => {
  d = await docker();
  images = await testImages();
});

/** Linux ≥ 6.12: the kernel reports (and honours) a slice for ordinary threads (src/ffi/sched.ts). */
function sliceReported(): boolean {
  try {
    return getThreadSlice(0).ns > 0 && /se\.slice/.test(readFileSync('/proc/self/sched', 'latin1'));
  } catch {
    return false;
  }
}

describe('ts-reaper in a container', () => {
  it('is PID 1, reaps a burst of orphans, and exits with the child status', async () => {
    // The count runs once every orphan has exited and been reaped, or after 60 s: a PID 1
    // that does not reap never gets there, and the count then shows its zombies.
    const settle = `${ORPHANS_GONE_SH}; ${shWaitFor('orphans_gone', 'the orphans to exit and be reaped')}`;
    const r = await runContainer(d, {
      image: images.app,
      cmd: [
        'ts-reaper',
        '--',
        'sh',
        '-c',
        `i=0; while [ $i -lt 60 ]; do (sleep 0.2 &); i=$((i+1)); done; ${settle}; ${COUNT_ZOMBIES_SH}; exit 7`,
      ],
      pidsLimit: 128,
      timeoutMs: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/zombies=0\b/);
    expect(r.exitCode).toBe(7);
  });

  // Docker's default seccomp profile must let sched_setattr through, or the wait thread keeps
  // the kernel's default slice (and queues behind CPU-bound tasks when it wakes).
  it.skipIf(!sliceReported())('gets its 100 µs wait-thread slice under the default seccomp profile', async () => {
    // The wait thread sets its slice once it has booted: the child waits until a thread of
    // PID 1 shows it (or 60 s, and the assertions then show what the threads have).
    const booted = shWaitFor(`grep -qs 'se\\.slice.*: *100000$' /proc/1/task/*/sched`, 'a 100 us slice on a thread of PID 1');
    const r = await runContainer(d, {
      image: images.app,
      cmd: ['ts-reaper', '-v', '--', 'sh', '-c', `${booted}; grep -h "se.slice" /proc/1/task/*/sched`],
      timeoutMs: 90_000,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/as PID 1/);
    expect(r.stderr).toMatch(/wait thread \d+: nice 0, time slice 100 us/);
    const slices = [...r.stdout.matchAll(/se\.slice\s+:\s+(\d+)/g)].map((m) => Number(m[1]));
    expect(slices.length).toBeGreaterThan(2);
    expect(slices.filter((n) => n === 100_000)).toHaveLength(1);
  });

  it("the image's launcher runs ts-reaper as PID 1 with 3 fewer tasks (one V8 platform thread)", async () => {
    // Counted once the wait thread runs (it has set the nice value asked for, 1), by when
    // ts-reaper has started every thread it will have (it starts no libuv pool thread).
    const booted = shWaitFor(
      `awk '{ sub(/^.*\\) /, ""); if ($17 == 1) f = 1 } END { exit !f }' /proc/1/task/*/stat`,
      'the wait thread to set its nice value',
    );
    const tasksOfPid1 = async (cmd: string[]): Promise<number> => {
      const r = await runContainer(d, {
        image: images.app,
        cmd: [...cmd, '-v', '--wait-nice', '1', '--', 'sh', '-c', `${booted}; ls /proc/1/task | wc -l`],
        timeoutMs: 90_000,
      });
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toMatch(/as PID 1/);
      return Number(r.stdout.trim());
    };
    const launcher = await tasksOfPid1(['ts-reaper']);
    const plain = await tasksOfPid1(['node', '/app/dist/ts-reaper.cjs']);
    expect(plain - launcher).toBe(3);
  });

  it('reports a child killed by a signal as 128 + signal', async () => {
    const r = await runContainer(d, { image: images.app, cmd: ['ts-reaper', '--', 'sh', '-c', 'kill -USR1 $$'], timeoutMs: 30_000 });
    expect(r.exitCode).toBe(128 + 10);
  });

  it('docker stop of ts-reaper -- sleep 1000 ends with 143, by SIGTERM, before the grace period', async () => {
    // ts-reaper listens to signals before it spawns its child (src/reaper/main.ts), and Node as
    // PID 1 loses a SIGTERM that comes earlier: stop once PID 1 has a child (runContainer arms
    // the stop after onStarted returns), not after a guessed delay.
    const graceS = 10;
    const r = await runContainer(d, {
      image: images.app,
      cmd: ['ts-reaper', '--', 'sleep', '1000'],
      stopAfterMs: 0,
      stopGraceS: graceS,
      timeoutMs: 90_000,
      onStarted: async (id) => {
        const pid = (await d.getContainer(id).inspect()).State.Pid;
        await waitFor(() => childrenOf(pid).length > 0, { what: 'ts-reaper (PID 1 of the container) to spawn its child' });
      },
    });
    // 143: the child died of the forwarded SIGTERM; after the grace Docker's SIGKILL gives 137.
    expect(r.exitCode).toBe(143);
    expect(r.stopLatencyMs).not.toBeNull();
    expect(r.stopLatencyMs!).toBeLessThan(graceS * 1000);
  });

  it('docker stop with --signal-adopted --shutdown all: the adopted orphan exits gracefully, logged as JSON', async () => {
    // The orphan (a shell whose parent exits at once) traps SIGTERM and says so on stdout. The
    // stop waits until PID 1 has adopted it and its trap is set (SigCgt has SIGTERM, bit 14).
    const orphan = `sh -c 'sh -c "trap \\"echo orphan-graceful; exit 0\\" TERM; while :; do sleep 0.05; done" &'`;
    const trapped = (pid: number): boolean => {
      try {
        return (
          readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('orphan-graceful') &&
          (BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]}`) & (1n << 14n)) !== 0n
        );
      } catch {
        return false;
      }
    };
    const graceS = 20;
    const r = await runContainer(d, {
      image: images.app,
      cmd: [
        'ts-reaper',
        '-v',
        '--log-format',
        'json',
        '--signal-adopted',
        '--shutdown',
        'all',
        '--grace-ms',
        '15000',
        '--',
        'sh',
        '-c',
        `${orphan}; while :; do sleep 0.05; done`,
      ],
      stopAfterMs: 0,
      stopGraceS: graceS,
      timeoutMs: 90_000,
      onStarted: async (id) => {
        const pid = (await d.getContainer(id).inspect()).State.Pid;
        await waitFor(() => childrenOf(pid).some(trapped), { what: 'PID 1 to adopt the orphan, and the orphan to trap SIGTERM' });
      },
    });
    // The command died of the forwarded SIGTERM; the orphan ran its trap (a SIGKILL from the
    // kernel, when PID 1 exits, or from Docker, after the grace, would not have let it).
    expect(r.exitCode).toBe(143);
    expect(r.stdout).toContain('orphan-graceful');
    expect(r.stopLatencyMs!).toBeLessThan(graceS * 1000);
    // The container's stderr is everyone's: the orphan's shell says "Terminated" when the
    // shutdown's SIGTERM (kill -1) ends its sleep, and may not end that line before one of
    // ts-reaper's. ts-reaper's lines are the JSON objects, each from `{"event"` to its line's end.
    const events = r.stderr
      .split('\n')
      .filter((l) => l.includes('{"event"'))
      .map((l) => JSON.parse(l.slice(l.indexOf('{"event"'))) as Record<string, unknown>);
    expect(
      events.map((e) => e.text),
      r.stderr,
    ).toContain('forwarded SIGTERM, and to 1 adopted process');
    expect(events.find((e) => e.event === 'reap' && e.role === 'command')).toMatchObject({ exit_status: 143, signal: 'SIGTERM' });
    expect(events.find((e) => e.event === 'reap' && e.role === 'adopted' && e.comm === 'sh')).toMatchObject({ exit_status: 0 });
  });

  it('the control: a Node PID 1 without a SIGTERM handler is killed after the grace period (137)', async () => {
    const r = await runContainer(d, {
      image: images.app,
      cmd: ['node', '-e', 'setInterval(() => {}, 1000)'],
      stopAfterMs: 500,
      stopGraceS: 2,
      timeoutMs: 60_000,
    });
    expect(r.exitCode).toBe(137);
    expect(r.stopLatencyMs!).toBeGreaterThanOrEqual(1_900);
  });
});
