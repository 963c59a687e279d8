import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchTrace, parseTracerLine, tracerAvailability, type TracerEvent } from '../../src/tracer/index.js';

const NS = 4026532253; // the container's PID namespace
const HOST = 4026531836; // the initial one
const OTHER = 4026532999; // another container

/** Events of one line each, through the real parser. */
const parse = (lines: string[]): TracerEvent[] =>
  lines.map((l) => {
    const r = parseTracerLine(l);
    if (r.kind !== 'event') throw new Error(`not an event: ${l}`);
    return r.event;
  });

describe('parseTracerLine', () => {
  it('reads every record of the grammar', () => {
    expect(parseTracerLine('ready 1000')).toEqual({ kind: 'ready', tsNs: 1000n });
    expect(parseTracerLine(`exit 11180784357435 19699 sleep 19698 sh 1 0 1 ${HOST}:19699 ${NS}:2`)).toEqual({
      kind: 'event',
      event: {
        type: 'exit',
        tsNs: 11180784357435n,
        pid: 19699,
        comm: 'sleep',
        ppid: 19698,
        pcomm: 'sh',
        code: 1,
        status: 0,
        level: 1,
        ids: [
          { ns: HOST, nr: 19699 },
          { ns: NS, nr: 2 },
        ],
      },
    });
    expect(parseTracerLine(`reap 5 19698 sh ${NS} 1 1 2 waitid`)).toEqual({
      kind: 'event',
      event: { type: 'reap', tsNs: 5n, pid: 19698, comm: 'sh', ns: NS, nr: 1, level: 1, reaped: 2, call: 'waitid' },
    });
    expect(parseTracerLine(`fork 7 19699 19698 sh 1 ${HOST}:19699 ${NS}:2`).kind).toBe('event');
    expect(parseTracerLine('free 9 19699 sleep')).toEqual({ kind: 'event', event: { type: 'free', tsNs: 9n, pid: 19699, comm: 'sleep' } });
    expect(parseTracerLine(`forkfail 10 300 301 node 11 clone3 1 ${HOST}:300 ${NS}:5`)).toMatchObject({
      kind: 'event',
      event: {
        type: 'forkfail',
        errno: 11,
        call: 'clone3',
        tid: 301,
        ids: [
          { ns: HOST, nr: 300 },
          { ns: NS, nr: 5 },
        ],
      },
    });
    expect(parseTracerLine('stats events=24 lost=3 untracked=0')).toEqual({ kind: 'stats', stats: { events: 24, lost: 3, untracked: 0 } });
  });

  it('unescapes comms with spaces, backslashes and control bytes', () => {
    const r = parseTracerLine(`free 1 2 a\\x20b\\x5cc\\x09`);
    expect(r).toMatchObject({ event: { comm: 'a b\\c\t' } });
    expect(parseTracerLine('free 1 2 \\x00')).toMatchObject({ event: { comm: '' } });
  });

  it('names the line it cannot parse', () => {
    expect(() => parseTracerLine('exit x')).toThrow(/tracer: cannot parse line "exit x": not a timestamp/);
    expect(() => parseTracerLine('bogus 1')).toThrow(/unknown record bogus/);
    expect(() => parseTracerLine('reap 1 2 c 3 4 1 5 wait9')).toThrow(/unknown call wait9/);
  });
});

describe('matchTrace', () => {
  // t0 = 1 s; PID 1 of the container is host 100 (init), the workload host 101 (nr 2), which
  // forks an intermediate 102 (nr 3) that forks an orphan 103 (nr 4) and exits.
  const t0 = 1_000_000_000n;
  const at = (us: number): number => 1_000_000_000 + us * 1000;
  const lines = [
    `fork ${at(-5)} 999 998 other 1 ${HOST}:999 ${OTHER}:1`, // another container: ignored
    `fork ${at(10)} 102 101 load 1 ${HOST}:102 ${NS}:3`,
    `fork ${at(20)} 103 102 load 1 ${HOST}:103 ${NS}:4`,
    `exit ${at(30)} 102 load 101 load 1 0 1 ${HOST}:102 ${NS}:3`,
    `reap ${at(32)} 101 load ${NS} 2 1 3 wait4`,
    `exit ${at(1000)} 103 load 100 init 1 0 1 ${HOST}:103 ${NS}:4`, // re-parented to PID 1
    `reap ${at(1012.5)} 100 init ${NS} 1 1 4 waitid`,
    `free ${at(5000)} 102 load`,
    `free ${at(5001)} 103 load`,
    // a process whose parent set SA_NOCLDWAIT: SIGCHLD sent, freed, never reaped
    `fork ${at(2000)} 104 101 load 1 ${HOST}:104 ${NS}:5`,
    `exit ${at(2100)} 104 load 101 load 1 0 1 ${HOST}:104 ${NS}:5`,
    `free ${at(9000)} 104 load`,
    // a process whose parent ignores SIGCHLD: no SIGCHLD at all, only the free
    `fork ${at(2200)} 105 101 load 1 ${HOST}:105 ${NS}:6`,
    `free ${at(9100)} 105 load`,
    // a zombie nobody reaps, then two fork failures
    `exit ${at(3000)} 106 load 100 init 2 9 1 ${HOST}:106 ${NS}:7`,
    `forkfail ${at(4000)} 101 101 load 11 clone 1 ${HOST}:101 ${NS}:2`,
    `forkfail ${at(3500)} 101 107 libuv 11 clone3 1 ${HOST}:101 ${NS}:2`,
    `forkfail ${at(3600)} 999 999 other 11 clone 1 ${HOST}:999 ${OTHER}:1`,
    // the container's PID 1 reaped by a host process: matched on its host pid; its exit
    // released the zombie 106 it never reaped (zap_pid_ns_processes), freed later
    `exit ${at(6000)} 100 init 50 shim 1 0 1 ${HOST}:100 ${NS}:1`,
    `reap ${at(6003)} 50 shim ${HOST} 50 0 100 wait4`,
    `free ${at(6500)} 106 load`,
    // a reap whose exit was never seen
    `reap ${at(7000)} 100 init ${NS} 1 1 42 wait4`,
    // still running at the end
    `fork ${at(8000)} 110 101 load 1 ${HOST}:110 ${NS}:9`,
  ];
  // Shuffled, as the per-CPU ring buffer order may be.
  const events = parse([...lines].reverse());
  const m = matchTrace(events, { pidNsInode: NS, t0Ns: t0, stats: { events: lines.length, lost: 0, untracked: 0 } });
  const byPid = new Map(m.processes.map((p) => [p.pid, p]));

  it('pairs each exit with its reap on (namespace, pid) and names the reaper', () => {
    const orphan = byPid.get(103)!;
    expect(orphan).toMatchObject({
      nsPid: 4,
      comm: 'load',
      forkUs: 20,
      parentAtFork: 102,
      parentAtExit: { pid: 100, nsPid: 1, comm: 'init' },
      orphan: true,
      exitUs: 1000,
      reapUs: 1012.5,
      latencyUs: 12.5,
      reaper: { pid: 100, nsPid: 1, comm: 'init', level: 1, call: 'waitid' },
      outcome: 'reaped',
    });
    expect(byPid.get(102)).toMatchObject({ orphan: false, latencyUs: 2, reaper: { pid: 101, nsPid: 2 } });
  });

  it('matches a host reaper on the host pid', () => {
    expect(byPid.get(100)).toMatchObject({ nsPid: 1, latencyUs: 3, reaper: { pid: 50, comm: 'shim', level: 0 }, outcome: 'reaped' });
  });

  it('tells autoreaped and unreaped processes apart, and counts what is still running', () => {
    expect(byPid.get(104)).toMatchObject({ outcome: 'autoreaped', exitUs: 2100, reapUs: null, latencyUs: null });
    expect(byPid.get(105)).toMatchObject({ outcome: 'autoreaped', exitUs: null, parentAtExit: null, parentAtFork: 101 });
    expect(byPid.get(106)).toMatchObject({
      outcome: 'unreaped-at-end',
      exitCode: 2,
      exitStatus: 9,
      parentAtExit: { pid: 100 },
      releasedUs: 6000,
    });
    expect(byPid.has(999)).toBe(false);
    expect(m.counts).toEqual({ exits: 5, reaped: 3, autoreaped: 2, unreapedAtEnd: 1, running: 1, unmatchedReaps: 1 });
    expect(m.lost).toBe(0);
  });

  it("dates the release of a zombie whose parent died before the init to the init's exit, not its parent's", () => {
    // 202 becomes a zombie under 201; 201 exits (202 goes to the init, which never reaps it);
    // the init's exit releases it (zap_pid_ns_processes), and it is freed after that.
    const own = [
      `fork ${at(10)} 201 100 work 1 ${HOST}:201 ${NS}:2`,
      `fork ${at(20)} 202 201 child 1 ${HOST}:202 ${NS}:3`,
      `exit ${at(30)} 202 child 201 work 1 0 1 ${HOST}:202 ${NS}:3`,
      `exit ${at(40)} 201 work 100 init 1 0 1 ${HOST}:201 ${NS}:2`,
      `reap ${at(45)} 100 init ${NS} 1 1 2 wait4`,
      `exit ${at(500)} 100 init 50 shim 1 0 1 ${HOST}:100 ${NS}:1`,
      `free ${at(520)} 202 child`,
    ];
    const r = matchTrace(parse(own), { pidNsInode: NS, t0Ns: t0, stats: null });
    expect(r.processes.find((p) => p.pid === 202)).toMatchObject({ outcome: 'unreaped-at-end', releasedUs: 500 });
    expect(r.zombiesOverTime.filter((z) => z.us <= 500).at(-1)).toEqual({ us: 500, zombies: 1 }); // 202 gone, 100 a zombie
    expect(r.zombiesOverTime.find((z) => z.us === 40)).toEqual({ us: 40, zombies: 2 }); // 202 still counted
  });

  it("counts a zombie the init released as unreaped even when its free comes before the init's exit event", () => {
    // zap_pid_ns_processes() releases the init's zombies before the init's own SIGCHLD is sent.
    const own = [
      `fork ${at(10)} 302 100 child 1 ${HOST}:302 ${NS}:3`,
      `exit ${at(30)} 302 child 100 init 1 0 1 ${HOST}:302 ${NS}:3`,
      `free ${at(480)} 302 child`,
      `exit ${at(500)} 100 init 50 shim 1 0 1 ${HOST}:100 ${NS}:1`,
    ];
    const r = matchTrace(parse(own), { pidNsInode: NS, t0Ns: t0, stats: null });
    expect(r.processes.find((p) => p.pid === 302)).toMatchObject({ outcome: 'unreaped-at-end', releasedUs: 500 });
    expect(r.counts.autoreaped).toBe(0);
  });

  it('orders fork failures and names their errno', () => {
    expect(m.forkFailures.map((f) => [f.us, f.errnoName, f.comm, f.call, f.nsPid])).toEqual([
      [3500, 'EAGAIN', 'libuv', 'clone3', 2],
      [4000, 'EAGAIN', 'load', 'clone', 2],
    ]);
    expect(m.firstForkFailure?.us).toBe(3500);
  });

  it('counts zombies over time and by parent; autoreaped processes never were zombies', () => {
    expect(m.zombiesOverTime).toEqual([
      { us: 30, zombies: 1 },
      { us: 32, zombies: 0 },
      { us: 1000, zombies: 1 },
      { us: 1012.5, zombies: 0 },
      { us: 3000, zombies: 1 },
      { us: 6000, zombies: 1 }, // 106 released, 100 a zombie
      { us: 6003, zombies: 0 },
    ]);
    expect(m.zombiesPeak).toBe(1);
    expect(m.zombiesByParent).toEqual([
      { pid: 100, nsPid: 1, comm: 'init', zombies: 2, unreapedAtEnd: 1, peak: 1 },
      { pid: 50, nsPid: null, comm: 'shim', zombies: 1, unreapedAtEnd: 0, peak: 1 },
      { pid: 101, nsPid: 2, comm: 'load', zombies: 1, unreapedAtEnd: 0, peak: 1 },
    ]);
  });

  it('says when the lost count is unknown', () => {
    expect(matchTrace(events, { pidNsInode: NS, t0Ns: t0 }).lost).toBeNull();
  });

  it('keeps two processes that reuse a host pid apart', () => {
    const reuse = parse([
      `exit ${at(1)} 200 a 100 init 1 0 1 ${HOST}:200 ${NS}:10`,
      `reap ${at(2)} 100 init ${NS} 1 1 10 wait4`,
      `free ${at(10)} 200 a`,
      `fork ${at(20)} 200 100 b 1 ${HOST}:200 ${NS}:10`,
      `exit ${at(30)} 200 b 100 init 1 0 1 ${HOST}:200 ${NS}:10`,
      `reap ${at(35)} 100 init ${NS} 1 1 10 wait4`,
    ]);
    const r = matchTrace(reuse, { pidNsInode: NS, t0Ns: t0 });
    expect(r.processes.map((p) => [p.comm, p.latencyUs])).toEqual([
      ['a', 1],
      ['b', 5],
    ]);
  });
});

describe('matchTrace with a namespace inode used twice', () => {
  const t0 = 1_000_000_000n;
  const at = (us: number): number => 1_000_000_000 + us * 1000;
  // An earlier container whose namespace had the same inode: its init forked before ours, and it
  // held zombies; then ours is born (its init's fork), runs, and a later one is born.
  const lines = [
    `fork ${at(-900_000)} 50 40 node 1 ${HOST}:50 ${NS}:1`,
    `exit ${at(-800_000)} 51 sh 50 node 1 0 1 ${HOST}:51 ${NS}:7`,
    `forkfail ${at(-700_000)} 50 50 node 11 clone 1 ${HOST}:50 ${NS}:1`,
    `fork ${at(-10)} 100 90 tini 1 ${HOST}:100 ${NS}:1`,
    `fork ${at(5)} 101 100 sh 1 ${HOST}:101 ${NS}:2`,
    `exit ${at(20)} 101 sh 100 tini 1 0 1 ${HOST}:101 ${NS}:2`,
    `reap ${at(25)} 100 tini ${NS} 1 1 2 wait4`,
    `fork ${at(500_000)} 200 190 node 1 ${HOST}:200 ${NS}:1`,
    `exit ${at(600_000)} 201 sh 200 node 1 0 1 ${HOST}:201 ${NS}:5`,
  ];

  it("keeps this container's events only: from its init's fork (the last at or before t0) to the next init's", () => {
    const m = matchTrace(parse(lines), { pidNsInode: NS, t0Ns: t0 });
    expect(m.processes.map((p) => [p.pid, p.outcome])).toEqual([[101, 'reaped']]);
    expect(m.forkFailures).toEqual([]);
  });

  it('leaves nothing out when no init fork was seen (a tracer attached late)', () => {
    const m = matchTrace(parse(lines.filter((l) => !/^fork .* \d+:1$/.test(l))), { pidNsInode: NS, t0Ns: t0 });
    expect(m.processes.map((p) => p.pid)).toEqual([51, 101, 201]);
    expect(m.forkFailures).toHaveLength(1);
  });
});

describe('tracerAvailability', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reapbench-tracer-'));
  const binary = path.join(dir, 'tracer');
  writeFileSync(binary, '');
  const btf = path.join(dir, 'vmlinux');
  writeFileSync(btf, '');
  const status = (capEff: string): string => {
    const f = path.join(dir, `status-${capEff}`);
    writeFileSync(f, `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\n`);
    return f;
  };

  it('says to build when the loader is missing', () => {
    const r = tracerAvailability({ binary: path.join(dir, 'none') });
    expect(r).toEqual({ available: false, reason: expect.stringMatching(/^unavailable: not built \(run scripts\/tracer-deps\.sh/) });
  });

  it('says the kernel is too old before 5.8, and that BTF is missing', () => {
    expect(tracerAvailability({ binary, btf, release: '5.4.0-42-generic' })).toMatchObject({
      reason: expect.stringContaining('older than 5.8'),
    });
    expect(tracerAvailability({ binary, btf: path.join(dir, 'nobtf'), release: '6.8.0' })).toMatchObject({
      reason: expect.stringContaining('no kernel BTF'),
    });
  });

  it('wants root or CAP_BPF with CAP_PERFMON', () => {
    const none = tracerAvailability({ binary, btf, release: '6.8.0', euid: 65534, procStatus: status('0000000000000000') });
    expect(none).toEqual({
      available: false,
      reason: expect.stringMatching(/^unavailable: loading eBPF programs needs root, or CAP_BPF and CAP_PERFMON .*: run as root$/),
    });
    // CAP_BPF (39) and CAP_PERFMON (38): bits 0xc0_0000_0000; the check passes on to lockdown.
    const caps = tracerAvailability({ binary, btf, release: '6.8.0', euid: 65534, procStatus: status('000000c000000000') });
    expect(caps.available ? '' : caps.reason).not.toMatch(/CAP_BPF/);
  });
});
