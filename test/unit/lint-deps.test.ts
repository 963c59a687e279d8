/**
 * The import rules of `npm run lint:deps` (scripts/lint-deps.mjs), run on a small tree that
 * breaks each of them once, beside imports that every rule allows. `npm test` runs the same
 * check on src/ itself before the unit tier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintDeps } from '../../scripts/lint-deps.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Files of the fixture tree: path under the tree → source. */
const TREE: Record<string, string> = {
  // model/ → run/ → model/: a cycle between folders (no module imports itself back), and the
  // domain importing the command. model/ → run/ → stats/ → model/ goes through the same import
  // and is counted, not shown.
  'src/model/inits.ts': "export const INITS = ['none'] as const;\n",
  'src/model/labels.ts': "import { first } from '../run/first.js';\nexport const label = first;\n",
  'src/run/first.ts':
    "import { INITS } from '../model/inits.js';\nimport { key } from '../stats/key.js';\nexport const first = key(INITS[0]);\n",
  'src/stats/key.ts': "import type { INITS } from '../model/inits.js';\nexport const key = (i: (typeof INITS)[number]): string => i;\n",
  // ffi/ may import koffi and Node built-ins, nothing of src/.
  'src/errors.ts': 'export const code = 2;\n',
  'src/ffi/wait.ts':
    "import koffi from 'koffi';\nimport { readFileSync } from 'node:fs';\nimport { code } from '../errors.js';\nexport const all = [koffi, readFileSync, code];\n",
  // procfs/ may import itself and Node built-ins, nothing else of src/.
  'src/procfs/stat.ts': "import { readFileSync } from 'node:fs';\nexport const stat = readFileSync;\n",
  'src/procfs/scan.ts': "import { stat } from './stat.js';\nimport { code } from '../errors.js';\nexport const all = [stat, code];\n",
  // An in-container entry point reaching execa through a harness module is caught; its
  // type-only import of dockerode is not a bundle violation (esbuild erases it), but dockerode
  // outside runtime/ is, type or not. runtime/ itself may import it.
  'src/loadgen/main.ts':
    "import type Docker from 'dockerode';\nimport koffi from 'koffi';\nimport { engine } from '../runtime/engine.js';\nexport let client: Docker | undefined;\nexport const all = [koffi, engine];\n",
  'src/runtime/engine.ts':
    "import type Docker from 'dockerode';\nimport { execa } from 'execa';\nexport let client: Docker | undefined;\nexport const engine = execa;\n",
  // A lazy import beside a type of the same package is still in the bundle.
  'src/reaper/main.ts': "type Execa = typeof import('execa');\nexport const load = (): Promise<Execa> => import('execa');\n",
};

describe('lint:deps', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'reapbench-lint-deps-'));
    for (const [file, text] of Object.entries(TREE)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    }
    // Packages resolve to this repository's node_modules, as they would inside it.
    await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports each broken rule on one line, a longer cycle through the same import as a count, and nothing else', async () => {
    const { violations } = await lintDeps({ baseDir: dir });
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^no-folder-cycles: src\/model → src\/run → src\/model: /),
        'no-folder-cycles: and 1 longer cycle(s) through the imports above',
        expect.stringMatching(/^model-imports-nothing: src\/model\/labels\.ts → src\/run\/first\.ts: /),
        expect.stringMatching(/^ffi-imports-koffi-only: src\/ffi\/wait\.ts → src\/errors\.ts: /),
        expect.stringMatching(/^procfs-imports-no-src: src\/procfs\/scan\.ts → src\/errors\.ts: /),
        expect.stringMatching(
          /^bundle-reaches-harness-package: src\/loadgen\/main\.ts → src\/runtime\/engine\.ts → \S*node_modules\/execa\//,
        ),
        expect.stringMatching(/^bundle-reaches-harness-package: src\/reaper\/main\.ts → \S*node_modules\/execa\//),
        expect.stringMatching(/^engine-client-in-runtime-only: src\/loadgen\/main\.ts → \S*node_modules\/dockerode\//),
      ]),
    );
    expect(violations).toHaveLength(8);
    for (const line of violations) expect(line).not.toContain('\n');
  }, 120_000);
});
