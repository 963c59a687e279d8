/**
 * Shared setup for integration tests against the real engine: one client (raw, and as the
 * runtime the harness uses), and the images built once per test file (a cache hit after the
 * first file).
 */
import type Docker from 'dockerode';
import { ownedParentDirs } from '../../src/runtime/host-cgroup.js';
import path from 'node:path';
import { connectClient } from '../../src/runtime/engine.js';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { ensureImages, type ImageSet } from '../../src/images/build.js';

let engine: Promise<DockerRuntime> | undefined;
let images: Promise<ImageSet> | undefined;

/** The engine as the harness's runtime (throws the same one-line error the CLI would when none answers). */
export function runtime(): Promise<DockerRuntime> {
  engine ??= connectClient(10_000).then(({ docker, label }) => new DockerRuntime(docker, label));
  return engine;
}

/** The engine's raw client, for what tests check behind the runtime's back (containers left, labels). */
export async function docker(): Promise<Docker> {
  return (await runtime()).docker;
}

/** The images, built offline-or-registry as `auto` decides; quiet unless REAPBENCH_TEST_VERBOSE. */
export function testImages(): Promise<ImageSet> {
  images ??= runtime().then((rt) =>
    ensureImages(rt, {
      pullTimeoutMs: 3_000,
      onProgress: (l) => {
        if (process.env.REAPBENCH_TEST_VERBOSE) console.error(l);
      },
    }),
  );
  return images;
}

/** Count processes in state Z from /proc, as a shell snippet for busybox sh inside the image. */
export const COUNT_ZOMBIES_SH = `z=0; for f in /proc/[0-9]*/stat; do s=$(cut -d' ' -f3 "$f" 2>/dev/null); [ "$s" = Z ] && z=$((z+1)); done; echo zombies=$z`;

/** Parent cgroups that run `runId` owns and still has, in any hierarchy; empty once it cleaned up. */
export const ownedCgroupsOf = (runId: string): string[] => ownedParentDirs(runId);

/**
 * Shell for busybox sh inside a container, where test/support/wait.ts cannot run: wait until
 * the shell condition `cond` holds, testing it every 50 ms, for at least `seconds`. At the
 * deadline it says `timed out after N s waiting for <what>` on stderr and goes on, so that the
 * test fails on its own assertions, with what the script printed next. `what`: no quotes.
 */
export function shWaitFor(cond: string, what: string, seconds = 60): string {
  return `i=0; until ${cond}; do i=$((i+1)); if [ $i -gt ${seconds * 20} ]; then echo "timed out after ${seconds} s waiting for ${what}" >&2; break; fi; sleep 0.05; done`;
}

/**
 * Shell: defines `sleeps_exited`, true when no `sleep` in the container is alive (each has
 * exited; under an init that does not reap, as a zombie). Reads /proc with the shell's `read`,
 * so that the check itself makes no child that could be caught as a zombie.
 */
export const SLEEPS_EXITED_SH = `sleeps_exited() { for f in /proc/[0-9]*/stat; do read -r p c s r 2>/dev/null <"$f" || continue; case "$c $s" in "(sleep) "[!Z]) return 1 ;; esac; done; return 0; }`;

/**
 * Shell: defines `orphans_gone`, true when no process in the container is a zombie or a live
 * `sleep` (the orphans of a burst of `(sleep 0.2 &)`): they exited and were reaped.
 */
export const ORPHANS_GONE_SH = `orphans_gone() { for f in /proc/[0-9]*/stat; do read -r p c s r 2>/dev/null <"$f" || continue; case "$c $s" in "(sleep) "[!Z] | *" Z") return 1 ;; esac; done; return 0; }`;
