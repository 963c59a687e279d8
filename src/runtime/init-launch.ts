/**
 * How each PID 1 choice is put in front of a workload inside the reapbench image.
 *
 * Every choice runs the same image and the same workload argv; only PID 1 differs:
 *  - `none`: the workload is PID 1 itself (orphans are re-parented to it and, since libuv only
 *    reaps the children it spawned, stay zombies — libuv `src/unix/process.c`).
 *  - `none:python`, `none:bash`, `none:sh`: an app in that language is PID 1 and runs the
 *    workload as its child, as an app or an entrypoint does ({@link APP_LAUNCHERS}). A shell's
 *    `-c` string must not end with the workload: bash, dash and busybox ash exec the last simple
 *    command of `-c` without forking, and the row would silently become `none`; `; exit $?` after
 *    it keeps the shell as the parent (the engine test checks PID 1's comm and the workload's parent).
 *  - `docker-init`: `HostConfig.Init` (`docker run --init`); the engine injects its own
 *    `docker-init` (tini) as PID 1.
 *  - `tini`, `dumb-init`, `catatonit`, `ts-reaper`: the binary in the image, exec'd as PID 1.
 *  - `supervisord`, `s6-svscan`, `runit`: a POSIX shell writes a minimal configuration with the
 *    workload as the one service, then `exec`s the supervisor, which becomes PID 1
 *    ({@link SUPERVISOR_LAUNCH}). The service's own start script `exec`s the workload, so the
 *    workload is the supervisor's (or its per-service supervisor's) direct child.
 */
import type { InitName } from '../model/inits.js';

/** How to start one init: argv prefix and whether the engine's init is used. */
export interface InitLaunch {
  /** argv placed before the workload's argv. */
  prefix: string[];
  /** `HostConfig.Init`. */
  engineInit: boolean;
}

/**
 * The Python app: runs its argv as a child with `subprocess.call`, which waits for that pid only,
 * and exits with its status (128 + signal when it was killed, as a shell reports it).
 */
export const PYTHON_APP = 'import subprocess, sys\nrc = subprocess.call(sys.argv[1:])\nsys.exit(128 - rc if rc < 0 else rc)\n';

/** A shell entrypoint that runs its arguments as a foreground job without `exec` (see the module doc). */
export const SHELL_APP = '"$@"; exit $?';

/** argv prefixes of the apps as PID 1 (the workload's argv follows). */
export const APP_LAUNCHERS: Readonly<Record<'none:python' | 'none:bash' | 'none:sh', string[]>> = {
  'none:python': ['python3', '-c', PYTHON_APP],
  'none:bash': ['bash', '-c', SHELL_APP, 'bash'],
  'none:sh': ['sh', '-c', SHELL_APP, 'sh'],
};

/** Where the supervisors' launch scripts write their configuration, service and status files. */
export const SUPERVISOR_DIR = '/tmp/rb-pid1';

/**
 * The start of every supervisor's launch script: the workload's argv ("$@") written, each word
 * single-quoted, into `$d/service`, a script that `exec`s it (so no shell stays between the
 * supervisor and the workload, and no supervisor has to parse the argv: scenario parameters are
 * JSON), and the launcher's pid (the supervisor's, after `exec`) into `$d/pid`.
 */
const SERVICE_SCRIPT = [
  `d=${SUPERVISOR_DIR}`,
  'mkdir -p "$d"',
  'q() { printf "\'%s\' " "$(printf %s "$1" | sed "s/\'/\'\\\\\\\\\'\'/g")"; }',
  '{ printf "#!/bin/sh\\nexec "; for a in "$@"; do q "$a"; done; printf "\\n"; } > "$d/service"',
  'chmod 755 "$d/service"',
  'echo $$ > "$d/pid"',
].join('\n');

/**
 * The event listener that ends a supervisord run: supervisord does not exit when its programs
 * have (it supervises), so on the workload's PROCESS_STATE_EXITED (or FATAL: it could not start)
 * this listener sends supervisord SIGTERM, its documented shutdown. Protocol: supervisor's
 * "Event Listener Notification Protocol" (READY, a header line with `len`, the payload, `RESULT 2\nOK`).
 */
const SUPERVISORD_LISTENER = `import os, signal, sys
def say(s):
    sys.stdout.write(s); sys.stdout.flush()
while True:
    say('READY\\n')
    head = dict(w.split(':', 1) for w in sys.stdin.readline().split())
    body = dict(w.split(':', 1) for w in sys.stdin.read(int(head['len'])).split())
    say('RESULT 2\\nOK')
    if body.get('processname') == 'workload':
        os.kill(os.getppid(), signal.SIGTERM)
`;

/**
 * Launch scripts of the supervisors (run by `sh -c`, the workload's argv as "$@"), each ending in
 * `exec <supervisor>`:
 *  - supervisord: `nodaemon`, `silent` (its log to a file, not to the container's stdout, where
 *    the workload's report lines go), the workload as program `workload` (`autorestart=false`,
 *    `startsecs=0`: a quick exit is an exit, not a failed start; its output to the container's
 *    stdout and stderr) and the listener above.
 *  - s6-svscan: scan directory `$d/s6` with service `workload`; its `finish` (argv: exit code, or
 *    256 and the signal) keeps the status, marks the service down (`s6-svc -d`) and asks
 *    s6-svscan to terminate (`s6-svscanctl -t`), which then execs `.s6-svscan/finish`: exit
 *    with the kept status.
 *  - runit: `runsvdir $d/runit` with service `workload`; its `finish` marks it down (`sv down`)
 *    and sends runsvdir SIGHUP (stop every runsv, exit 111).
 */
export const SUPERVISOR_LAUNCH: Readonly<Record<'supervisord' | 's6-svscan' | 'runit', string>> = {
  supervisord: [
    SERVICE_SCRIPT,
    `cat > "$d/listener.py" <<'EOF'\n${SUPERVISORD_LISTENER}EOF`,
    `cat > "$d/supervisord.conf" <<EOF
[supervisord]
nodaemon=true
silent=true
logfile=$d/supervisord.log
pidfile=$d/supervisord.pid
[program:workload]
command=/bin/sh $d/service
autostart=true
autorestart=false
startsecs=0
startretries=0
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
stderr_logfile=/dev/stderr
stderr_logfile_maxbytes=0
[eventlistener:end]
command=python3 $d/listener.py
events=PROCESS_STATE_EXITED,PROCESS_STATE_FATAL
EOF`,
    'exec supervisord -c "$d/supervisord.conf"',
  ].join('\n'),
  's6-svscan': [
    SERVICE_SCRIPT,
    'mkdir -p "$d/s6/workload" "$d/s6/.s6-svscan"',
    'cp "$d/service" "$d/s6/workload/run"',
    `cat > "$d/s6/workload/finish" <<'EOF'
#!/bin/sh
if [ "$1" = 256 ]; then echo $((128 + $2)) > ${SUPERVISOR_DIR}/rc; else echo "$1" > ${SUPERVISOR_DIR}/rc; fi
s6-svc -d .
exec s6-svscanctl -t ${SUPERVISOR_DIR}/s6
EOF`,
    `cat > "$d/s6/.s6-svscan/finish" <<'EOF'
#!/bin/sh
exit "$(cat ${SUPERVISOR_DIR}/rc 2>/dev/null || echo 0)"
EOF`,
    'chmod 755 "$d/s6/workload/finish" "$d/s6/.s6-svscan/finish"',
    'exec s6-svscan "$d/s6"',
  ].join('\n'),
  runit: [
    SERVICE_SCRIPT,
    'mkdir -p "$d/runit/workload"',
    'cp "$d/service" "$d/runit/workload/run"',
    `cat > "$d/runit/workload/finish" <<'EOF'
#!/bin/sh
sv down ${SUPERVISOR_DIR}/runit/workload
kill -HUP "$(cat ${SUPERVISOR_DIR}/pid)"
EOF`,
    'chmod 755 "$d/runit/workload/finish"',
    'exec runsvdir "$d/runit"',
  ].join('\n'),
};

/**
 * argv prefix that makes `init` PID 1 in front of a workload (see module doc).
 * @param flags extra init flags (variants), inserted right after the binary; the apps and the
 *   supervisors have no variants and take none.
 */
export function launchFor(init: InitName, flags: string[] = []): InitLaunch {
  switch (init) {
    case 'none':
      return { prefix: [], engineInit: false };
    case 'none:python':
    case 'none:bash':
    case 'none:sh':
      return { prefix: [...APP_LAUNCHERS[init]], engineInit: false };
    case 'docker-init':
      return { prefix: [], engineInit: true };
    case 'tini':
      return { prefix: ['tini', ...flags, '--'], engineInit: false };
    case 'dumb-init':
      return { prefix: ['dumb-init', ...flags], engineInit: false };
    case 'catatonit':
      return { prefix: ['catatonit', ...flags, '--'], engineInit: false };
    case 'ts-reaper':
      return { prefix: ['ts-reaper', ...flags, '--'], engineInit: false };
    case 'supervisord':
    case 's6-svscan':
    case 'runit':
      return { prefix: ['sh', '-c', SUPERVISOR_LAUNCH[init], `rb-${init}`], engineInit: false };
  }
}
