/**
 * `npm run bench:micro`: benchmark.js measurements of the in-process costs the report explains.
 *
 *  - `ffi waitpid(WNOHANG)`: one koffi call into libc's waitpid with no child ready (the cost a
 *    reaper pays per wake-up to learn there is nothing left to reap).
 *  - `node spawn+exit+reap`: one `child_process.spawn('true')` until its `exit` event (libuv
 *    fork+exec from a large process, then libuv's own waitpid).
 *  - `posix_spawn+waitpid`: the same with posix_spawn (CLONE_VFORK) through koffi and a blocking
 *    waitpid: the cost ts-reaper pays to start its child.
 *  - `pidfd watch`: pidfd_open + epoll_ctl ADD + close on a live process, the load generator's
 *    per-orphan cost.
 *
 * Writes `results/micro-<UTC timestamp>.json` (one object per case: ops/s, mean µs, relative
 * margin of error %, samples) and prints a table.
 */
import Benchmark from 'benchmark';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EPOLL_CTL_ADD, epollCreate, epollCtl, EPOLLET, EPOLLHUP, EPOLLIN } from '../src/ffi/epoll.js';
import { close } from '../src/ffi/fd.js';
import { pidfdOpen } from '../src/ffi/pidfd.js';
import { kill } from '../src/ffi/process.js';
import { spawnDetached } from '../src/ffi/spawn.js';
import { waitpid, WNOHANG } from '../src/ffi/wait.js';
import { projectRoot } from '../src/images/build.js';

/** One measured case. */
export interface MicroResult {
  /** Case name. */
  name: string;
  /** Operations per second. */
  ops_per_s: number;
  /** Mean time per operation, µs. */
  mean_us: number;
  /** Relative margin of error of the mean, % (99 % confidence, benchmark.js `rme`). */
  rme_pct: number;
  /** Samples benchmark.js took (count). */
  samples: number;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(
      'usage: npm run bench:micro\nbenchmark.js: FFI waitpid(WNOHANG), node spawn+exit+reap, posix_spawn+waitpid, pidfd watch; writes results/micro-<UTC>.json. See the header of bench/micro.ts.',
    );
    return;
  }
  const status = new Int32Array(1);
  const sleeper = spawnDetached(['sleep', '600']);
  if (sleeper.ret < 0) throw new Error(`cannot start a sleep for the pidfd case: errno ${sleeper.errno}`);
  const epfd = epollCreate().ret;
  const results: MicroResult[] = [];
  const suite = new Benchmark.Suite('reapbench micro')
    .add('ffi waitpid(WNOHANG)', () => {
      waitpid(-1, status, WNOHANG);
    })
    .add('posix_spawn+waitpid', () => {
      const r = spawnDetached(['true']);
      waitpid(r.ret, status, 0);
    })
    .add('node spawn+exit+reap', {
      defer: true,
      fn: (deferred: { resolve(): void }) => {
        spawn('true', { stdio: 'ignore' }).on('exit', () => deferred.resolve());
      },
    })
    .add('pidfd watch', () => {
      const fd = pidfdOpen(sleeper.ret).ret;
      epollCtl(epfd, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLHUP | EPOLLET, 0);
      close(fd);
    })
    .on('cycle', (event: Benchmark.Event) => {
      const b = event.target as unknown as Benchmark;
      results.push({
        name: String(b.name),
        ops_per_s: Math.round(b.hz ?? 0),
        mean_us: Number(((b.stats?.mean ?? 0) * 1e6).toFixed(3)),
        rme_pct: Number((b.stats?.rme ?? 0).toFixed(2)),
        samples: b.stats?.sample.length ?? 0,
      });
      process.stdout.write(`${String(event.target)}\n`);
    });
  await new Promise<void>((resolve) => {
    suite.on('complete', () => resolve());
    suite.run({ async: true });
  });
  kill(sleeper.ret, 9);
  waitpid(sleeper.ret, status, 0);
  close(epfd);
  const dir = path.join(projectRoot(), 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `micro-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ node: process.version, results }, null, 2)}\n`);
  console.table(results);
  process.stdout.write(`written: ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:micro: ${(err as Error).message}\n`);
  process.exit(1);
});
