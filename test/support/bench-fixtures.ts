import type { InitName } from '../../src/model/inits.js';
import type { EnvironmentRecord, RunRecord, SeriesPoint } from '../../src/model/records.js';
import { histogram } from '../../src/stats/histogram.js';

/** A completed, surviving run with plausible numbers; override what a test is about. */
export function makeRun(over: Partial<RunRecord> = {}): RunRecord {
  return {
    init: 'tini',
    scenario: 'orphans',
    pids_limit: 128,
    rate_per_s: 1000,
    lifetime_ms: 2,
    duration_s: 10,
    repetition: 0,
    order: 0,
    state: 'completed',
    failure_reason: null,
    started_at: '2026-11-29T11:00:00.000Z',
    orphans_made: 10000,
    orphans_exited: 10000,
    orphans_reaped: 10000,
    unreaped: 0,
    missed: 0,
    achieved_rate_per_s: 998.5,
    first_fork_failure_s: null,
    orphans_before_failure: 10000,
    fork_failures: 0,
    first_failure_level: null,
    first_failure_errno: null,
    first_failure_comm: null,
    zombies_peak: 2,
    zombie_sample_hz: 10,
    pids_peak: 14,
    pids_method: 'owned-parent',
    baseline_tasks: 9,
    effective_budget: 119,
    instrument_tasks: 8,
    reap_latency_p50_us: 15,
    reap_latency_p90_us: 30,
    reap_latency_p99_us: 120,
    reap_latency_max_us: 900,
    latency_method: 'pidfd-epoll',
    pidfd_latency_p50_us: null,
    pidfd_latency_p99_us: null,
    lost_events: null,
    littles_law_latency_us: 17,
    watcher_lag_p99_us: 60,
    pid1_cpu_ms: 120,
    pid1_rss_kib: 1024,
    exit_code: 0,
    wall_s: 11.2,
    zombies_by_parent: [],
    zombies_held_by: null,
    series: [],
    latency_histogram: [],
    ...over,
  };
}

// A deterministic pseudo-random generator (mulberry32), so fixtures never flake.
import { rng } from '../../src/rng.js';

/** A realistic run of one init: `none` fills the pids budget and fails forks; others survive. */
export function realisticRun(init: InitName, repetition: number, over: Partial<RunRecord> = {}): RunRecord {
  const rand = rng(repetition * 7919 + init.length * 104729 + (over.rate_per_s ?? 1000));
  const rate = over.rate_per_s ?? 1000;
  const limit = over.pids_limit ?? 128;
  const duration = over.duration_s ?? 10;
  const budget = limit - (init === 'none' ? 9 : 1) - 8;
  const failAt = init === 'none' ? Math.min(duration, budget / rate + 0.002 * rand()) : null;
  const series: SeriesPoint[] = [];
  for (let t = 0; t <= (failAt === null ? duration : failAt + 1); t += 0.02) {
    const z = init === 'none' ? Math.min(budget, Math.floor(t * rate)) : Math.round(rand() * rand() * (init === 'ts-reaper' ? 4 : 2));
    series.push({ t_s: Math.round(t * 1000) / 1000, zombies: z, pids_current: z + 17 });
  }
  const base =
    ({ tini: 15, 'dumb-init': 17, 'docker-init': 16, catatonit: 18, 'ts-reaper': 30, none: 0 } as Partial<Record<InitName, number>>)[
      init
    ] ?? 20;
  const lat = init === 'none' ? [] : Array.from({ length: 2000 }, () => base * Math.exp(rand() * rand() * 4) + rand() * 5);
  return makeRun({
    init,
    repetition,
    rate_per_s: rate,
    pids_limit: limit,
    duration_s: duration,
    first_fork_failure_s: failAt,
    orphans_before_failure: failAt === null ? rate * duration : budget,
    fork_failures: failAt === null ? 0 : 40,
    first_failure_level: failAt === null ? null : 'orphan',
    first_failure_errno: failAt === null ? null : 'EAGAIN',
    zombies_peak: Math.max(...series.map((p) => p.zombies)),
    unreaped: init === 'none' ? budget : 0,
    reap_latency_p50_us: init === 'none' ? null : base + rand() * 3,
    reap_latency_p99_us: init === 'none' ? null : base * 8 + rand() * 50,
    series,
    latency_histogram: histogram(lat),
    ...over,
  });
}

/** A plausible environment record. */
export const ENV: EnvironmentRecord = {
  run_id: 'feedfacecafe',
  reapbench_version: '0.1.0',
  git_commit: '0123456789abcdef0123',
  node_version: 'v20.20.2',
  kernel: '6.18.0',
  cpu_model: 'Test CPU',
  cpus: 2,
  engine_name: 'docker',
  engine_version: '20.10.24',
  engine_api_version: '1.41',
  engine_init: 'docker-init (tini, built into the engine)',
  cgroup_version: 1,
  image: 'reapbench-app:test',
  image_id: 'sha256:abcdef0123456789abcdef',
  base_mode: 'offline',
  base_reason: 'no registry',
  started_at: '2026-11-29T11:00:00.000Z',
  argv: ['run', '--preset', 'quick'],
  clk_tck: 100,
  matrix: {},
  instrument: { requested: 'auto', used: 'ebpf', reason: null },
};
