/**
 * Workload of bench/reaper-latency: runs as the only child of the init under test (inside the
 * PID namespace). It starts the load generator's C helper (`orphanage produce`,
 * src/loadgen/native/orphanage.c, through src/loadgen/helper.ts), which makes orphans at a fixed
 * rate: an intermediate forks the orphan and exits at once, so the orphan is re-parented to the
 * init. For each orphan it reports (`O <pid> <t>`), the workload opens a pidfd and registers it
 * (edge-triggered, tag = orphan index) in the observer's epoll instance, inherited as fd 3. The
 * observer (outside, not a parent) then sees EPOLLIN when the orphan exits and EPOLLHUP when the
 * init reaps it.
 *
 * Protocol on stdout: `start`, then `done <registered> <missed>`; it exits when stdin closes.
 * argv: <count> <rate per s> <orphan life ms>
 */
import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { EPOLL_CTL_ADD, epollCtl, EPOLLET, EPOLLHUP, EPOLLIN, POLLIN, pollOnce } from '../src/ffi/epoll.js';
import { close, F_SETFL, fcntl, read } from '../src/ffi/fd.js';
import { pidfdOpen } from '../src/ffi/pidfd.js';
import { orphanagePath, startProducer } from '../src/loadgen/helper.js';

const EPOLL_FD = 3;
/** Pidfds stay open this long (ms) so that both events reach the observer, then are closed. */
const KEEP_MS = 2000;

const [countArg, rateArg, lifeArg] = process.argv.slice(2);
const count = Number(countArg);
const rate = Number(rateArg);
const lifeMs = Number(lifeArg);
if (!(count > 0) || !(rate > 0) || !(lifeMs > 0)) {
  writeSync(2, 'usage: reaper-latency-workload <count> <rate> <life-ms>\n');
  process.exit(2);
}

const producer = startProducer(orphanagePath(), { ratePerS: rate, lifetimeUs: lifeMs * 1000, batch: 1, count, durationMs: null });
if ('errno' in producer) {
  writeSync(2, `reaper-latency-workload: cannot start orphanage (errno ${producer.errno})\n`);
  process.exit(1);
}
// Blocking reads on the report pipe: this process has nothing else to do.
fcntl(producer.reportFd, F_SETFL, 0);

const buf = Buffer.alloc(65536);
const open: Array<[number, number]> = []; // [close after (ms), fd]
let carry = '';
let index = 0;
let registered = 0;
let missed = 0;
let finished = false;

writeSync(1, 'start\n');
producer.go();
while (!finished) {
  const n = read(producer.reportFd, buf).ret;
  if (n <= 0) break;
  carry += buf.toString('latin1', 0, n);
  let nl: number;
  while ((nl = carry.indexOf('\n')) >= 0) {
    const line = carry.slice(0, nl);
    carry = carry.slice(nl + 1);
    if (line.startsWith('D ')) finished = true;
    if (line.startsWith('F ')) missed++;
    if (!line.startsWith('O ')) continue;
    const pid = Number(line.split(' ')[1]);
    const tag = index++;
    const fd = pidfdOpen(pid);
    if (fd.ret < 0 || pollOnce(fd.ret, POLLIN) !== 0) {
      // Already reaped, or already exited: its exit time would be misread. Count it as missed.
      if (fd.ret >= 0) close(fd.ret);
      missed++;
    } else if (epollCtl(EPOLL_FD, EPOLL_CTL_ADD, fd.ret, EPOLLIN | EPOLLHUP | EPOLLET, tag).ret < 0) {
      close(fd.ret);
      missed++;
    } else {
      registered++;
      open.push([performance.now() + KEEP_MS, fd.ret]);
    }
  }
  while (open.length > 0 && open[0]![0] < performance.now()) close(open.shift()![1]);
}
await producer.wait(5000);
// Let the last orphans live out and be reaped while their pidfds are still registered.
await sleep(lifeMs + 500);
writeSync(1, `done ${registered} ${missed}\n`);
// Wait for the harness to close stdin (it samples the init's CPU and RSS meanwhile). Through
// the event loop: a synchronous read threw EAGAIN here (stdin may be non-blocking).
process.stdin.resume();
process.stdin.on('close', () => {
  for (const [, fd] of open) close(fd);
  process.exit(0);
});
