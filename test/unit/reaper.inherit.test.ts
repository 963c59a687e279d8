// ts-reaper's inherited signal state: the launcher's record, the fallback, and the spawn
// settings that pass it on. Pure functions, no processes.
import { describe, expect, it } from 'vitest';
import { ALL_SIGNALS, signalBit } from '../../src/ffi/signal.js';
import { ignoredFromStatus, inheritedSignals, INHERITED_ENV, parseInheritedEnv, spawnSignals } from '../../src/reaper/inherit.js';

/** The set of `signals`. */
const set = (...signals: number[]): bigint => signals.reduce((s, n) => s | signalBit(n), 0n);

describe('ts-reaper: inherited signals', () => {
  it('reads the launcher record only when it names this very process', () => {
    expect(parseInheritedEnv('4242:0000000000000003:0000010000000200', 4242)).toEqual({ ignored: set(1, 2), blocked: set(10, 41) });
    expect(parseInheritedEnv('4242:3:0', 4243)).toBeNull(); // left by another process's launcher
    for (const bad of [undefined, '', '4242', '4242:3', '4242:zz:0', '4242:3:0:1', 'x:3:0', '4242:00000000000000003:0'])
      expect(parseInheritedEnv(bad, 4242), String(bad)).toBeNull();
  });

  it('without the launcher, keeps only what Node leaves as it was: 32 and 34–64 ignored, no mask', () => {
    // As Node 20 shows it after `trap '' HUP` with 32 and 40 inherited ignored: 1–31 reset,
    // PIPE and XFSZ ignored by Node, 33 caught by glibc.
    const status = 'Name:\tnode\nSigBlk:\t0000000000000000\nSigIgn:\t0000008081001000\nSigCgt:\t0000000100004602\n';
    expect(ignoredFromStatus(status)).toBe(set(13, 25, 32, 40));
    expect(inheritedSignals({}, 7, status)).toEqual({ ignored: set(32, 40), blocked: 0n, source: 'node' });
    expect(inheritedSignals({ [INHERITED_ENV]: '8:1:0' }, 7, status).source).toBe('node');
    expect(inheritedSignals({ [INHERITED_ENV]: '7:1:400' }, 7, status)).toEqual({ ignored: set(1), blocked: set(11), source: 'launcher' });
    expect(inheritedSignals({}, 7, '')).toEqual({ ignored: 0n, blocked: 0n, source: 'node' });
  });

  it('spawns with every signal at its default but the inherited ignored ones, and the inherited mask', () => {
    expect(spawnSignals({ ignored: 0n, blocked: 0n, source: 'launcher' })).toEqual({
      defaultSignals: ALL_SIGNALS, // 32 and 33 included: glibc's child would ignore them otherwise
      signalMask: 0n,
      ignoreDuringSpawn: [],
    });
    const s = spawnSignals({ ignored: set(1, 2, 17, 32, 33, 40), blocked: set(10, 15, 41), source: 'launcher' });
    expect(s.defaultSignals).toBe(ALL_SIGNALS & ~set(1, 2, 17, 32, 33, 40));
    expect(s.signalMask).toBe(set(10, 15, 41));
    // glibc's child ignores 32 and 33 itself when they are not reset; the rest must be ignored by
    // ts-reaper during the spawn to be passed on.
    expect(s.ignoreDuringSpawn).toEqual([1, 2, 17, 40]);
  });

  it('never tries to pass SIGKILL or SIGSTOP on as ignored or blocked (the kernel refuses both)', () => {
    const s = spawnSignals({ ignored: set(9, 19), blocked: set(9, 19), source: 'launcher' });
    expect(s.defaultSignals).toBe(ALL_SIGNALS);
    expect(s.signalMask).toBe(0n);
    expect(s.ignoreDuringSpawn).toEqual([]);
  });
});
