// ts-reaper's stopping options and structured log, with real processes: --signal-adopted (a
// forwarded signal also reaches the orphans ts-reaper adopted) as a subreaper and as PID 1 of a
// real PID namespace, with --shutdown all; and -v --log-format json. The adopted process is a
// shell started by `setsid` from a shell that exits at once: an orphan in a session of its own,
// outside the command's process group, as a daemon that forked twice is.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readStat } from '../../src/procfs/stat.js';
import { namespaceInitPid, signalledOrGone } from '../support/proc.js';
import { BUNDLE, CAN_UNSHARE, READY, pidsWithMarker, start, type Running } from '../support/reaper.js';
import { scratchDirs } from '../support/scratch.js';
import { waitFor } from '../support/wait.js';

const scratch = scratchDirs('ts-reaper-stop-');
let dir = '';
/** The orphan: sets its SIGTERM trap, says so in `<mark>.ready`, writes `<mark>.term` on SIGTERM. */
let orphanScript = '';
/** A token unique to this run, in `sleep` arguments, to find the command's own jobs. */
const TOKEN = String(800000 + Math.floor(Math.random() * 99999));

beforeAll(async () => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run npm run build first`);
  dir = await scratch();
  orphanScript = path.join(dir, 'orphan.sh');
  writeFileSync(orphanScript, `trap 'echo TERM > "$1.term"; exit 0' TERM\necho up > "$1.ready"\nwhile :; do sleep 0.05; done\n`);
});

/** Shell words that leave an orphan marked `mark`: in a session of its own unless `sameGroup`. */
const leaveOrphan = (mark: string, sameGroup = false): string =>
  `sh -c '${sameGroup ? '' : 'setsid '}sh ${orphanScript} ${mark} >/dev/null 2>&1 &';`;

/** Host pid of the live process whose command line holds `mark` (the orphan's shell). */
function pidOf(mark: string): number | null {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'latin1').split('\0');
      if (argv[0] === 'sh' && argv[2] === mark && readStat(Number(e))?.state !== 'Z') return Number(e);
    } catch {
      // gone
    }
  }
  return null;
}

/** Wait until the orphan `mark` has set its trap and been adopted by `reaper` (host pid); its pid. */
async function adopted(mark: string, reaper: number): Promise<number> {
  await waitFor(() => existsSync(`${mark}.ready`), { what: `orphan ${mark} to set its trap` });
  return waitFor(
    () => {
      const pid = pidOf(mark);
      return pid !== null && readStat(pid)?.ppid === reaper ? pid : null;
    },
    { what: `orphan ${mark} to be re-parented to ts-reaper ${reaper}`, detail: () => `pid ${pidOf(mark)}` },
  );
}

function killQuietly(pid: number | null): void {
  if (pid === null) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** The command: leaves its orphans, starts a marked background sleep of its own, then waits. */
const command = (orphans: string, job: number, tail = 'while :; do sleep 0.05; done'): string[] => [
  '--',
  'sh',
  '-c',
  `${orphans} sleep 1000.${TOKEN}${job} >/dev/null 2>&1 & echo ready; ${tail}`,
];

describe('ts-reaper --signal-adopted as a subreaper', () => {
  it("sends a forwarded SIGTERM to an adopted orphan too, not to the command's own children (no -g)", async () => {
    const mark = path.join(dir, 'a');
    const r = start(['-v', '--signal-adopted', ...command(leaveOrphan(mark), 1)]);
    await r.waitFor(READY);
    const orphan = await adopted(mark, r.proc.pid!);
    const [job] = await waitFor(() => (pidsWithMarker(`${TOKEN}1`).length === 1 ? pidsWithMarker(`${TOKEN}1`) : null), {
      what: "the command's background sleep to exec",
    });
    r.proc.kill('SIGTERM');
    const res = await r.done;
    expect(res.code).toBe(143);
    expect(res.stderr).toContain('forwarded SIGTERM, and to 1 adopted process');
    await waitFor(() => existsSync(`${mark}.term`), { what: 'the adopted orphan to run its SIGTERM trap' });
    // The command's own job was not adopted when the signal came (its parent was alive): it got
    // nothing, though it was re-parented to ts-reaper a moment later when the command died.
    expect(signalledOrGone(job!)).toBeNull();
    killQuietly(job!);
    killQuietly(orphan);
  });

  it('without it, the adopted orphan gets nothing (as with tini and dumb-init)', async () => {
    const mark = path.join(dir, 'b');
    const r = start(['-v', ...command(leaveOrphan(mark), 2)]);
    await r.waitFor(READY);
    const orphan = await adopted(mark, r.proc.pid!);
    r.proc.kill('SIGTERM');
    const res = await r.done;
    expect(res.code).toBe(143);
    expect(res.stderr).toMatch(/forwarded SIGTERM$/m);
    // ts-reaper has exited, so whatever it sent has arrived.
    expect(signalledOrGone(orphan)).toBeNull();
    expect(existsSync(`${mark}.term`)).toBe(false);
    killQuietly(orphan);
    for (const p of pidsWithMarker(`${TOKEN}2`)) killQuietly(p);
  });

  it("with -g, an orphan left in the command's group gets the signal with the group, not once more", async () => {
    const apart = path.join(dir, 'c1');
    const inGroup = path.join(dir, 'c2');
    const r = start(['-v', '-g', '--signal-adopted', ...command(`${leaveOrphan(apart)} ${leaveOrphan(inGroup, true)}`, 3)]);
    await r.waitFor(READY);
    const pids = [await adopted(apart, r.proc.pid!), await adopted(inGroup, r.proc.pid!)];
    r.proc.kill('SIGTERM');
    const res = await r.done;
    expect(res.code).toBe(143);
    // Counted: only the orphan outside the group was signalled one by one.
    expect(res.stderr).toContain('forwarded SIGTERM, and to 1 adopted process');
    for (const m of [apart, inGroup]) await waitFor(() => existsSync(`${m}.term`), { what: `orphan ${m} to run its SIGTERM trap` });
    pids.forEach(killQuietly);
  });
});

describe('ts-reaper -v --log-format json', () => {
  it('writes only JSON lines: a reap event per process with pid, comm, role, status and time', async () => {
    // The orphans are made once the wait thread has said how it runs, four of them: three exit
    // 0, one (a shell) kills itself with SIGTERM.
    const orphans = `sh -c 'sleep 0.1 &'; sh -c 'sleep 0.1 &'; sh -c 'sleep 0.1 &'; sh -c 'sh -c "kill -TERM \\$\\$" &';`;
    const w = start(['-v', '--log-format', 'json', '--', 'sh', '-c', `read go; ${orphans} read go; exit 9`], { stdin: true });
    await w.waitFor(/wait thread \d+: nice/);
    w.send('go');
    const reaps = (): Record<string, unknown>[] =>
      w
        .output()
        .split('\n')
        .filter((l) => l.includes('"event":"reap"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => reaps().filter((e) => e.role === 'adopted').length >= 4, { what: '4 orphans reaped', detail: w.output });
    w.send('go');
    const res = await w.done;
    expect(res.code).toBe(9);
    const lines = res.stderr.trim().split('\n');
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of events) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    const reapEvents = events.filter((e) => e.event === 'reap');
    const command = reapEvents.find((e) => e.role === 'command');
    expect(command).toMatchObject({ comm: 'sh', exit_status: 9, exit_code: 9, signal: null });
    const adoptedReaps = reapEvents.filter((e) => e.role === 'adopted');
    expect(adoptedReaps.filter((e) => e.comm === 'sleep' && e.exit_status === 0).length).toBeGreaterThanOrEqual(2);
    expect(adoptedReaps.find((e) => e.signal === 'SIGTERM')).toMatchObject({ exit_status: 143, exit_code: null });
    for (const e of reapEvents) {
      // Read at the wait thread's peek, before the reap.
      expect(typeof e.comm).toBe('string');
      expect(e.seen_to_reaped_us as number).toBeGreaterThanOrEqual(0);
    }
    expect(events.filter((e) => e.event === 'message').map((e) => e.text)).toContain(
      `exiting with 9 after reaping ${reapEvents.length} processes`,
    );
  });

  it('without -v, warnings only, as JSON too', async () => {
    const r = start(['--log-format', 'json', '--no-subreaper', '--', 'true']);
    const res = await r.done;
    expect(res.code).toBe(0);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'message', level: 'warning', text: expect.stringMatching(/^warning: not PID 1/) });
  });
});

describe.skipIf(!CAN_UNSHARE)('ts-reaper --signal-adopted as PID 1 (unshare --pid)', () => {
  /** Host pid of the namespace's PID 1 (the child of `unshare`). */
  const initPid = (r: Running): Promise<number> =>
    waitFor(() => namespaceInitPid(r.proc.pid!), { what: 'unshare to fork the PID 1 of the namespace' });
  // The command survives SIGTERM (it says `got-TERM`) and exits 0 once the file `<mark>.go`
  // exists: whatever the orphan gets before that came from the forwarding, not from a shutdown.
  // (Not `read`: a trap interrupts dash's read, which then returns as at end of file.)
  const patient = (mark: string): string => `trap 'echo got-TERM' TERM; echo ready; while [ ! -e ${mark}.go ]; do sleep 0.05; done; exit 0`;

  it('docker stop story: SIGTERM reaches the orphan at once; --shutdown all then waits for everything', async () => {
    const mark = path.join(dir, 'p1');
    const w = start(
      [
        '-v',
        '--log-format',
        'json',
        '--signal-adopted',
        '--shutdown',
        'all',
        '--grace-ms',
        '60000',
        '--',
        'sh',
        '-c',
        `${leaveOrphan(mark)} ${patient(mark)}`,
      ],
      { pid1: true },
    );
    const pid1 = await initPid(w);
    await w.waitFor(READY);
    await adopted(mark, pid1);
    process.kill(pid1, 'SIGTERM');
    await w.waitFor('got-TERM');
    await waitFor(() => existsSync(`${mark}.term`), { what: 'the adopted orphan to run its SIGTERM trap' });
    writeFileSync(`${mark}.go`, '');
    const res = await w.done;
    expect(res.code).toBe(0);
    const events = res.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const texts = events.filter((e) => e.event === 'message').map((e) => e.text as string);
    expect(texts).toContain('forwarded SIGTERM, and to 1 adopted process');
    // The orphan's reap, with its comm read while it was a zombie.
    const reap = events.find((e) => e.event === 'reap' && e.role === 'adopted');
    expect(reap).toMatchObject({ exit_status: 0, comm: 'sh' });
    // Everything was gone by the end of the shutdown: no SIGKILL, far within the grace period.
    expect(texts.some((t) => t.startsWith('shutdown: done'))).toBe(true);
    expect(texts.some((t) => t.includes('SIGKILL'))).toBe(false);
  });

  it('without it, the orphan gets nothing while the command runs', async () => {
    const mark = path.join(dir, 'p2');
    const w = start(['-v', '--', 'sh', '-c', `${leaveOrphan(mark)} ${patient(mark)}`], { pid1: true });
    const pid1 = await initPid(w);
    await w.waitFor(READY);
    const orphan = await adopted(mark, pid1);
    process.kill(pid1, 'SIGTERM');
    await w.waitFor('got-TERM');
    // The forwarding is one synchronous handler that has returned once the command has run its
    // trap: a signal for the orphan would be pending (or handled) by now.
    expect(signalledOrGone(orphan)).toBeNull();
    expect(existsSync(`${mark}.term`)).toBe(false);
    writeFileSync(`${mark}.go`, '');
    expect((await w.done).code).toBe(0);
  });
});
