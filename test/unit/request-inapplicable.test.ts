/**
 * PID 1 choices with no meaning on a runtime (docker-init without an engine) are left out of the
 * request, not planned as runs that would fail.
 */
import { describe, expect, it } from 'vitest';
import { ReapbenchError } from '../../src/errors.js';
import { normalizeRunOptions, withoutInapplicable } from '../../src/run/request.js';

const dockerInitOnly = (init: string): string | null => (init === 'docker-init' ? 'no engine' : null);

describe('withoutInapplicable', () => {
  it('leaves the choice out of the plan, the count and the matrix, and keeps the warm-up with the first choice kept', async () => {
    // docker-init before ts-reaper in the matrix's order, so that the warm-up (the first init of
    // the first configuration) is its.
    const req = await normalizeRunOptions({ inits: 'docker-init,ts-reaper', limits: '64,128', rates: '250', repetitions: '2', seed: '3' });
    expect(req.plan[0]).toMatchObject({ init: 'docker-init', repetition: -1 });
    const { req: r, leftOut } = withoutInapplicable(req, dockerInitOnly);
    expect(leftOut).toEqual([{ init: 'docker-init', why: 'no engine' }]);
    expect(r.matrix.inits).toEqual(['ts-reaper']);
    expect(r.plan.some((p) => p.init === 'docker-init')).toBe(false);
    expect(r.plan[0]).toMatchObject({ init: 'ts-reaper', repetition: -1, pids_limit: req.plan[0]!.pids_limit });
    // 2 limits × 1 kept init × 2 repetitions, in the order they had.
    expect(r.recordedRuns).toBe(4);
    expect(r.plan.slice(1)).toEqual(req.plan.filter((p) => p.repetition >= 0 && p.init !== 'docker-init'));
    expect(Object.isFrozen(r) && Object.isFrozen(r.plan)).toBe(true);
  });

  it('returns the same request when every choice applies', async () => {
    const req = await normalizeRunOptions({ inits: 'none,tini' });
    expect(withoutInapplicable(req, dockerInitOnly)).toEqual({ req, leftOut: [] });
    expect(withoutInapplicable(req, dockerInitOnly).req).toBe(req);
  });

  it('refuses a run whose every choice is left out, in one line that says what to use', async () => {
    const req = await normalizeRunOptions({ inits: 'docker-init' });
    let err: unknown;
    try {
      withoutInapplicable(req, dockerInitOnly);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReapbenchError);
    expect((err as ReapbenchError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      'Expected a PID 1 choice that runs on this runtime, got only docker-init (no engine); use --engine docker or podman',
    );
  });
});
