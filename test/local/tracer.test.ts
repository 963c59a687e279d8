import { execFile, spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OrphanEvent } from '../../src/loadgen/types.js';
import {
  matchTrace,
  pidNamespaceInode,
  startTracer,
  tracerAvailability,
  tracerBinaryPath,
  type ExitEvent,
  type ForkEvent,
  type ReapEvent,
  type Trace,
  type Tracer,
  type TraceMatch,
  type TracerEvent,
} from '../../src/tracer/index.js';
import { SOLO_MAX_BATCH } from '../../src/run/traced.js';
import {
  makePidsCgroup,
  orphanageBin,
  requireBuild,
  root,
  runCommandInNamespace,
  runInNamespace,
  type TestCgroup,
} from '../support/loadgen.js';
import { namespaceInitPid } from '../support/proc.js';
import { waitFor } from '../support/wait.js';

// The kernel instrument against the real kernel: bare PID namespaces (unshare) and pids cgroups,
// no Docker. Needs root and a built dist/tracer; skipped with the availability reason otherwise.
const availability = tracerAvailability();
const why = availability.available ? '' : availability.reason;

/** The namespace whose PID 1 `unshare` (host pid `unsharePid`) forked, from the tracer's own fork event. */
function namespaceOf(events: readonly TracerEvent[], unsharePid: number): number | null {
  const f = events.find((e): e is ForkEvent => e.type === 'fork' && e.ppid === unsharePid && e.ids.at(-1)?.nr === 1);
  return f?.ids.at(-1)?.ns ?? null;
}

/** Exit events per pid in namespace `ns` (pid in that namespace → count), straight from the events. */
function exitsPerNsPid(events: readonly TracerEvent[], ns: number): Map<number, number> {
  const exits = new Map<number, number>();
  for (const e of events) {
    if (e.type !== 'exit') continue;
    const nr = e.ids.find((i) => i.ns === ns)?.nr;
    if (nr !== undefined) exits.set(nr, (exits.get(nr) ?? 0) + 1);
  }
  return exits;
}

const execFileAsync = promisify(execFile);
/** The initial PID namespace's inode number, the same on every boot (include/linux/proc_ns.h). */
const PROC_PID_INIT_INO = 0xeffffffc;

/** Whether host process `pid` exists (in any state). */
const exists = (pid: number): boolean => existsSync(`/proc/${pid}`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

describe.skipIf(!availability.available)(`tracer against the kernel ${why}`, () => {
  let cg: TestCgroup | null = null;
  let tracer: Tracer | null = null;
  beforeAll(() => requireBuild());
  afterEach(async () => {
    // Never leave a loader running, whatever the test did.
    if (tracer) {
      const pid = tracer.pid;
      await tracer.stop();
      expect(exists(pid)).toBe(false);
      tracer = null;
    }
    await cg?.remove();
    cg = null;
  });

  /** Stop the tracer and check that the loader closed properly and is gone. */
  async function stopTracer(): Promise<Trace> {
    const t = tracer!;
    const trace = await t.stop();
    tracer = null;
    expect(exists(t.pid)).toBe(false);
    expect(trace.stats, trace.stderr).not.toBeNull();
    expect(trace.malformed).toEqual([]);
    expect(trace.stats!.events).toBe(trace.events.length);
    return trace;
  }

  /**
   * Stop the tracer, find the namespace whose PID 1 `unshare` (host pid `unsharePid`) forked, and
   * match its events from `t0Ns`; no event may have been lost.
   */
  async function stopAndMatch(unsharePid: number, t0Ns: bigint): Promise<{ trace: Trace; ns: number; m: TraceMatch }> {
    const trace = await stopTracer();
    const ns = namespaceOf(trace.events, unsharePid);
    expect(ns).not.toBeNull();
    const m = matchTrace(trace.events, { pidNsInode: ns!, t0Ns, stats: trace.stats });
    expect(m.lost, `${m.lost} events lost in the kernel`).toBe(0);
    return { trace, ns: ns!, m };
  }

  it('reads the calibration reaper (fixed 20 ms) at 20.0 ms ± 0.2 ms at the median', async () => {
    cg = makePidsCgroup(400);
    tracer = await startTracer();
    const t0Ns = process.hrtime.bigint();
    let unsharePid = 0;
    const run = runInNamespace(
      { calibrationDelayMs: 20 },
      ['--rate', '100', '--lifetime-ms', '10', '--duration-s', '3', '--forkloop-ms', '0'],
      cg,
      90_000,
      (p) => (unsharePid = p),
    );
    // The PID 1 of the namespace, while it runs: its /proc ns link names the namespace the
    // tracer reports.
    const init = await waitFor(() => namespaceInitPid(unsharePid), { what: 'unshare to fork PID 1' });
    const nsFromProc = pidNamespaceInode(init);
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const trace = await stopTracer();
    expect(namespaceOf(trace.events, unsharePid)).toBe(nsFromProc);
    const m = matchTrace(trace.events, { pidNsInode: nsFromProc, t0Ns, stats: trace.stats });
    expect(m.lost).toBe(0);
    const byInit = m.processes.filter((p) => p.orphan && p.reaper?.nsPid === 1);
    expect(byInit.length).toBeGreaterThan(150);
    expect(byInit.every((p) => p.reaper!.comm === 'orphanage' && p.parentAtExit!.nsPid === 1)).toBe(true);
    const p50Ms = median(byInit.map((p) => p.latencyUs!)) / 1000;
    // The reaper waits 20 ms from its SIGCHLD wake-up (SCHED_FIFO): the median is 20 ms plus
    // its wake-up and waitpid, tens of µs here.
    console.log(`calibration: ${byInit.length} orphans reaped by PID 1, median ${p50Ms.toFixed(4)} ms`);
    expect(Math.abs(p50Ms - 20)).toBeLessThanOrEqual(0.2);
  });

  it('accounts for every orphan at the load generator maximum rate: one exit and one reap each', async () => {
    cg = makePidsCgroup(4000);
    tracer = await startTracer();
    const t0Ns = process.hrtime.bigint();
    let unsharePid = 0;
    const r = await runInNamespace(
      'tini',
      ['--rate', 'max', '--lifetime-ms', '1', '--duration-s', '5', '--forkloop-ms', '0'],
      cg,
      120_000,
      (p) => (unsharePid = p),
    );
    expect(r.code, r.stderr).toBe(0);
    const { trace, ns, m } = await stopAndMatch(unsharePid, t0Ns);
    const orphans = r.events!.filter((e): e is OrphanEvent => e.type === 'orphan');
    expect(orphans.length).toBe(r.summary!.orphans_made);
    expect(orphans.length).toBeGreaterThan(500);
    // Exit events per namespace pid, straight from the events: exactly one each.
    const exits = exitsPerNsPid(trace.events, ns);
    const records = new Map(m.processes.map((p) => [p.nsPid, p]));
    const wrong: string[] = [];
    for (const o of orphans) {
      const p = records.get(o.pid);
      if (exits.get(o.pid) !== 1) wrong.push(`${o.pid}: ${exits.get(o.pid) ?? 0} exits`);
      else if (!p || (p.outcome !== 'reaped' && p.outcome !== 'unreaped-at-end')) wrong.push(`${o.pid}: ${p?.outcome ?? 'no record'}`);
      else if (p.outcome === 'reaped' && p.reaper?.nsPid !== 1) wrong.push(`${o.pid}: reaped by ${p.reaper?.comm}`);
    }
    expect(wrong.slice(0, 10), `${wrong.length} of ${orphans.length} orphans not accounted for`).toEqual([]);
    // Each reap matched one exit: no reap in the namespace without its exit.
    expect(m.counts.unmatchedReaps).toBe(0);
    const reaps = trace.events.filter((e) => e.type === 'reap' && e.ns === ns && e.nr === 1).length;
    expect(reaps).toBe(m.processes.filter((p) => p.reaper?.nsPid === 1).length);
    expect(m.counts.unreapedAtEnd).toBe(0);
    console.log(
      `accounting: ${orphans.length} orphans, ${trace.events.length} events, lost ${m.lost}, exits ${m.counts.exits}, reaped ${m.counts.reaped}, unreaped ${m.counts.unreapedAtEnd}, autoreaped ${m.counts.autoreaped}`,
    );
  });

  it('accounts for every orphan of orphanage solo at its maximum rate, 16 orphans per intermediate: one exit and one reap by PID 1 each', async () => {
    cg = makePidsCgroup(4000);
    tracer = await startTracer();
    const t0Ns = process.hrtime.bigint();
    let unsharePid = 0;
    // What `reapbench run` runs at its highest rates (soloBatch): RATE 0 = as fast as it can, for
    // 5 s or 20,000 orphans, so that no pid is reused within pid_max (32,768 here).
    const argv = [orphanageBin, 'solo', '0', '1000', String(SOLO_MAX_BATCH), '20000', '5000', '1', '500', '500'];
    const r = await runCommandInNamespace('tini', argv, cg, 120_000, (p) => (unsharePid = p));
    expect(r.code, r.stderr).toBe(0);
    const { trace, ns, m } = await stopAndMatch(unsharePid, t0Ns);
    const counts = r.stdout.split('\n').find((l) => l.startsWith('N '));
    expect(counts, r.stdout).toBeDefined();
    const made = Number(counts!.split(' ')[1]);
    expect(r.stdout).not.toMatch(/^F /m);
    expect(made).toBeGreaterThan(5000);
    // Exits per namespace pid, straight from the events: exactly one each (no pid was reused).
    const exits = exitsPerNsPid(trace.events, ns);
    expect([...exits.values()].filter((n) => n !== 1)).toEqual([]);
    expect(exits.size).toBeGreaterThan(made);
    // solo is tini's child (namespace pid 2); its intermediates are solo's children, reaped by it;
    // every other process of the namespace is an orphan, reaped by PID 1.
    const solo = m.processes.find((p) => p.nsPid === 2);
    const intermediates = m.processes.filter((p) => p.reaper?.nsPid === 2);
    const orphans = m.processes.filter((p) => (p.nsPid ?? 0) > 2 && p.reaper?.nsPid !== 2);
    expect(solo?.comm).toBe('orphanage');
    expect(intermediates.length).toBe(Math.ceil(made / SOLO_MAX_BATCH));
    expect(orphans.length).toBe(made);
    const notByInit = orphans.filter((p) => p.outcome !== 'reaped' || p.reaper?.nsPid !== 1);
    expect(notByInit.slice(0, 5).map((p) => `${p.nsPid}: ${p.outcome} by ${p.reaper?.comm}`)).toEqual([]);
    expect(m.counts.unmatchedReaps).toBe(0);
    expect(m.counts.unreapedAtEnd).toBe(0);
    console.log(`solo accounting: ${made} orphans, ${intermediates.length} intermediates, ${trace.events.length} events, lost ${m.lost}`);
  });

  it('no init, pids.max L: the first fork failure (EAGAIN) comes after about L − workload tasks orphans, at the load generator instant ± 1 ms', async () => {
    const limit = 64;
    cg = makePidsCgroup(limit);
    tracer = await startTracer();
    let unsharePid = 0;
    const r = await runInNamespace(
      'none',
      ['--rate', '100', '--lifetime-ms', '5', '--count', '200', '--after-failure', 'stop', '--grace-ms', '200', '--forkloop-ms', '0'],
      cg,
      90_000,
      (p) => (unsharePid = p),
    );
    expect(r.code, r.stderr).toBe(0);
    const { trace, ns, m } = await stopAndMatch(unsharePid, 0n);
    const s = r.summary!;
    const first = m.firstForkFailure!;
    expect(first).not.toBeNull();
    expect(first.errnoName).toBe('EAGAIN');
    expect(first.comm).toBe('orphanage');
    expect(s.first_fork_failure!.errno_name).toBe('EAGAIN');

    // Orphans forked before it, from the tracer's fork events: PID 1 (the load generator) →
    // helper → intermediates → orphans, depth 3 of the fork tree in the namespace.
    const forks = trace.events.filter((e): e is ForkEvent => e.type === 'fork' && e.ids.some((i) => i.ns === ns));
    const parent = new Map(forks.map((f) => [f.pid, f.ppid]));
    const depth = (pid: number): number => (parent.has(pid) ? 1 + depth(parent.get(pid)!) : -1);
    const orphanForks = forks.filter((f) => depth(f.pid) === 3);
    const firstNs = BigInt(Math.round(first.us * 1000));
    const before = orphanForks.filter((f) => f.tsNs < firstNs).length;
    expect(before).toBeGreaterThanOrEqual(s.effective_budget! - 3);
    expect(before).toBeLessThanOrEqual(s.effective_budget!);
    expect(Math.abs(before - s.first_fork_failure!.orphans_made_before)).toBeLessThanOrEqual(1);

    // The load generator's t0 in CLOCK_MONOTONIC: each orphan's created_us is when its fork
    // returned in the intermediate, after the kernel's fork event by a few µs, or by hundreds
    // when the intermediate was preempted in between (seen here): (fork event − created_us)
    // is t0 minus that delay, so the largest one places t0 within a few µs.
    const orphans = r.events!.filter((e): e is OrphanEvent => e.type === 'orphan');
    const forkNsByNr = new Map(orphanForks.map((f) => [f.ids.find((i) => i.ns === ns)!.nr, f.tsNs]));
    const offsets = orphans.filter((o) => forkNsByNr.has(o.pid)).map((o) => Number(forkNsByNr.get(o.pid)!) / 1000 - o.created_us);
    expect(offsets.length).toBeGreaterThan(20);
    const t0Us = Math.max(...offsets);
    const loadgenFirstUs = t0Us + s.first_fork_failure!.t_us;
    console.log(
      `first fork failure: ${first.comm} ${first.errnoName} after ${before} orphans (load generator: ${s.first_fork_failure!.orphans_made_before}, budget ${s.effective_budget}); tracer − load generator = ${(first.us - loadgenFirstUs).toFixed(1)} µs`,
    );
    expect(Math.abs(first.us - loadgenFirstUs), `tracer ${first.us} µs, load generator ${loadgenFirstUs} µs`).toBeLessThanOrEqual(1000);
    // Every orphan stays a zombie of PID 1, the load generator, which never reaps them.
    const zombiesOfInit = m.zombiesByParent.find((g) => g.nsPid === 1);
    expect(zombiesOfInit?.unreapedAtEnd ?? 0).toBeGreaterThanOrEqual(s.orphans_made - 2);
  });

  // An init that reaps with waitid (the pid arrives in the siginfo, read at the syscall's
  // return) and peeks first with WNOWAIT (which leaves the zombie: not a reap).
  const WAITID_INIT = [
    'import os, sys',
    'pid = os.fork()',
    'if pid == 0:',
    '    os.execvp(sys.argv[1], sys.argv[1:])',
    'while True:',
    '    peek = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)',
    '    info = os.waitid(os.P_PID, peek.si_pid, os.WEXITED)',
    '    if info.si_pid == pid:',
    '        sys.exit(info.si_status)',
  ].join('\n');
  const python = spawnSync('python3', ['-c', 'import os; os.waitid'], { stdio: 'ignore' }).status === 0;

  it.skipIf(!python)('sees waitid reaps once each, and not the WNOWAIT peeks before them', async () => {
    cg = makePidsCgroup(400);
    tracer = await startTracer();
    let unsharePid = 0;
    const r = await runInNamespace(
      { argv: ['python3', '-c', WAITID_INIT] },
      ['--rate', '200', '--lifetime-ms', '10', '--count', '200', '--forkloop-ms', '0'],
      cg,
      90_000,
      (p) => (unsharePid = p),
    );
    expect(r.code, r.stderr).toBe(0);
    const { trace, ns, m } = await stopAndMatch(unsharePid, 0n);
    const orphans = r.events!.filter((e): e is OrphanEvent => e.type === 'orphan');
    expect(orphans).toHaveLength(200);
    const records = new Map(m.processes.map((p) => [p.nsPid, p]));
    for (const o of orphans) {
      expect(records.get(o.pid), `orphan ${o.pid}`).toMatchObject({ outcome: 'reaped', reaper: { nsPid: 1, call: 'waitid' } });
    }
    const byInit = trace.events.filter((e) => e.type === 'reap' && e.ns === ns && e.nr === 1);
    expect(byInit.length).toBe(m.processes.filter((p) => p.reaper?.nsPid === 1).length);
    expect(m.counts.unmatchedReaps).toBe(0);
    expect(m.processes.every((p) => p.latencyUs === null || p.latencyUs > 0)).toBe(true);
  });

  it('gives a process four PID namespaces deep its pid at its four deepest levels, and one two deep its host pid at level 0', async () => {
    // Each level's shell prints its namespace, then nests one more (each one PID 1 of its own
    // namespace) until the innermost, where a child exits 7: level 2 and level 4.
    const script = [
      'readlink /proc/self/ns/pid',
      'if [ "$1" -gt 1 ]; then exec unshare --pid --fork --mount-proc sh -c "$NEST" sh $(($1 - 1)); fi',
      `sh -c 'exit 7'`,
      'echo "status $?"',
    ].join('\n');
    tracer = await startTracer();
    // Each run's events are told apart by time, not by namespace: a freed namespace's inode
    // number is given to the next one, so the two runs' innermost namespaces may share it.
    const nest = async (depth: number) => {
      const from = process.hrtime.bigint();
      const r = await execFileAsync('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', script, 'sh', String(depth)], {
        env: { ...process.env, NEST: script },
        encoding: 'utf8',
        timeout: 60_000,
      });
      return { out: r.stdout, depth, from, to: process.hrtime.bigint() };
    };
    const runs = [await nest(2), await nest(4)];
    const trace = await stopTracer();
    const inodes = (out: string) => [...out.matchAll(/^pid:\[(\d+)\]$/gm)].map((x) => Number(x[1]));
    for (const { out, depth, from, to } of runs) {
      expect(out).toMatch(/^status 7$/m);
      const ns = inodes(out);
      expect(ns).toHaveLength(depth);
      const during = trace.events.filter((e) => e.tsNs >= from && e.tsNs <= to);
      const exit = during.find((e): e is ExitEvent => e.type === 'exit' && e.status === 7 && e.ids.at(-1)?.ns === ns.at(-1));
      expect(exit, `no exit of status 7 in namespace ${ns.at(-1)}`).toBeDefined();
      expect(exit!.level).toBe(depth);
      // Level 0 is the initial namespace, whose inode is fixed (include/linux/proc_ns.h
      // PROC_PID_INIT_INO); the process is pid 3 of the innermost namespace (after its PID 1,
      // the nesting shell that reaps it, and that shell's readlink).
      const want = depth < 4 ? [PROC_PID_INIT_INO, ...ns] : ns;
      expect(exit!.ids.map((i) => i.ns)).toEqual(want);
      expect(exit!.ids.at(-1)!.nr).toBe(3);
      if (depth < 4) expect(exit!.ids[0]!.nr).toBe(exit!.pid);
      const reap = during.find((e): e is ReapEvent => e.type === 'reap' && e.ns === ns.at(-1) && e.reaped === 3);
      expect(reap, `no reap of pid 3 in namespace ${ns.at(-1)}`).toMatchObject({ nr: 1, level: depth });
    }
  });

  it('attaches with no tracefs mounted: every program is a raw tracepoint found by its BTF id', () => {
    // A private mount namespace where every tracefs mount is gone; the loader's stdin is
    // /dev/null, so it stops at once after attaching, printing its stats line.
    const script = [
      'for m in $(findmnt -n -o TARGET -t tracefs | sort -r); do umount -l "$m" || exit 3; done',
      'echo "tracefs mounts: $(findmnt -n -t tracefs | wc -l)"',
      `exec "$0" </dev/null`,
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', 'sh', '-c', script, tracerBinaryPath()], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout, r.stderr).toMatch(/^tracefs mounts: 0$/m);
    expect(r.stdout, r.stderr).toMatch(/^ready \d+$/m);
    expect(r.stdout, r.stderr).toMatch(/^stats events=\d+ lost=0 untracked=0$/m);
    expect(r.status, r.stderr).toBe(0);
  });

  it('stops a loader whose start is aborted, and leaves no process', async () => {
    const ac = new AbortController();
    const t = await startTracer({ signal: ac.signal });
    const pid = t.pid;
    expect(exists(pid)).toBe(true);
    ac.abort(new Error('test abort'));
    const trace = await t.stop();
    expect(exists(pid)).toBe(false);
    // Killed, not closed: the stats are unknown and the matcher says so.
    expect(trace.stats).toBeNull();
    expect(matchTrace(trace.events, { pidNsInode: 1, t0Ns: 0n, stats: trace.stats }).lost).toBeNull();
    await expect(startTracer({ signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
  });

  it('leaves no listener on a signal shared by many runs once each tracer stopped', async () => {
    // A matrix run passes one signal to a tracer per container run; listeners left behind grew
    // past Node's limit of 10 (MaxListenersExceededWarning) in a 13-run quick bench.
    const ac = new AbortController();
    for (let i = 0; i < 3; i++) {
      const t = await startTracer({ signal: ac.signal });
      await t.stop();
    }
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('a loader that never gets ready fails with the deadline as the reason, and leaves no listener', async () => {
    // A stand-in loader that never prints `ready`; the deadline kills it, and its exit must not
    // replace the deadline's reason.
    const stuck = path.join(root, 'dist/tracer-build/never-ready.sh');
    spawnSync('sh', ['-c', `printf '#!/bin/sh\\nexec sleep 60\\n' > ${stuck} && chmod 755 ${stuck}`]);
    const ac = new AbortController();
    await expect(startTracer({ binary: stuck, signal: ac.signal, readyTimeoutMs: 300 })).rejects.toThrow(/^tracer: not ready after 0 s/);
    await expect(startTracer({ binary: '/bin/false', signal: ac.signal })).rejects.toThrow(/^tracer: /);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('tracer unavailable', () => {
  const binary = tracerBinaryPath();
  const asNobody = (cmd: string, args: string[]) =>
    spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', cmd, ...args], {
      encoding: 'utf8',
      input: '',
      timeout: 60_000,
    });

  it.skipIf(!existsSync(binary))('the loader run as nobody prints one line that says to run as root, and exits 1', () => {
    const r = asNobody(binary, []);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tracer: unavailable: load: Operation not permitted; loading eBPF programs needs root, or CAP_BPF and CAP_PERFMON: run it as root$/,
    );
  });

  it('the availability check run as nobody gives the one line', () => {
    const mod = path.join(root, 'dist/src/tracer/availability.js');
    const r = asNobody(process.execPath, [
      '--input-type=module',
      '-e',
      `import { tracerAvailability } from '${mod}'; console.log(JSON.stringify(tracerAvailability()));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as { available: boolean; reason?: string };
    expect(a.available).toBe(false);
    // Not built is reported first; on a built tree, the privileges.
    expect(a.reason).toMatch(
      existsSync(binary)
        ? /^unavailable: loading eBPF programs needs root, or CAP_BPF and CAP_PERFMON \(running as uid 65534 without them\): run as root$/
        : /^unavailable: not built/,
    );
  });

  it.skipIf(!existsSync(binary) || process.geteuid?.() !== 0)(
    'startTracer rejects with the loader line when it cannot load, and leaves no process',
    async () => {
      // The loader as nobody, through a wrapper the start function runs as its binary.
      const wrapper = path.join(root, 'dist/tracer-build/as-nobody.sh');
      spawnSync('sh', [
        '-c',
        `printf '#!/bin/sh\\nexec setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all ${binary}\\n' > ${wrapper} && chmod 755 ${wrapper}`,
      ]);
      await expect(startTracer({ binary: wrapper })).rejects.toThrow(
        /^tracer: unavailable: load: Operation not permitted; .*run it as root$/,
      );
      expect(spawnSync('pgrep', ['-f', `^${binary}$`], { encoding: 'utf8' }).stdout.trim()).toBe('');
    },
  );
});
