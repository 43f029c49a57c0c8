// slurm.mjs - a throwaway single-node Slurm cluster for node integration tests.
//
// Debian's `slurm-wlm` + `munge` (scripts/deps.sh test installs them), run as
// root and configured entirely inside a temp dir: its own munge key and
// munged socket, its own slurm.conf (free loopback ports, state/spool/log
// dirs in the temp dir, proctrack/linuxproc + task/none so no cgroup is
// touched, no accounting daemon), `slurmctld` and `slurmd` in the foreground
// as children of this process. No systemd, no /etc/slurm, no /run/munge, so it
// works in a chroot or container too. Every command run through the handle
// gets SLURM_CONF pointing at that slurm.conf.
//
//   import { startSlurm, slurmMissing } from './lib/slurm.mjs';
//   const reason = slurmMissing();          // null, or why Slurm cannot run here
//   const slurm = await startSlurm();       // waits until the node is idle
//   try {
//     const id = await slurm.sbatch(['--array=0-3', 'job.sbatch'], { cwd, env });
//     const tasks = await slurm.waitJob(id); // [{jobId, taskId, state, exitCode}]
//   } finally { await slurm.stop(); }
//   await withSlurm(async (slurm) => { ... });   // stops it whatever happens
//
// Everything started here (the daemons, the job steps they started, the temp
// dir) is also removed when the process exits (normal exit, uncaught error,
// SIGINT/SIGTERM), as lib/pg.mjs does, so a failing test leaves nothing behind.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BINS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'scontrol', 'squeue', 'scancel', 'sinfo'];
// Debian puts the daemons in /usr/sbin, which a non-login PATH may lack.
const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

function which(name) {
  for (const d of [...(process.env.PATH || '').split(':').filter(Boolean), ...SEARCH]) {
    const p = path.join(d, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** null when a cluster can be started here, else the reason it cannot (for a test skip). */
export function slurmMissing() {
  const missing = BINS.filter((b) => !which(b));
  if (missing.length) return `Slurm is not installed (no ${missing.join(', ')}; scripts/deps.sh test installs slurm-wlm and munge)`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'the test Slurm cluster runs its daemons as root (SlurmUser=root); not root here';
  return null;
}

// ---------------------------------------------------------------- cleanup
const live = new Set(); // {dir, children: ChildProcess[]}

/**
 * pids of the processes of this cluster: slurmstepd and the job scripts and
 * their children (their environment names `conf`: slurmd passes its own to
 * slurmstepd, sbatch exports the submitter's, which has SLURM_CONF).
 */
function clusterPids(conf) {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0');
      if (env.includes(`SLURM_CONF=${conf}`)) out.push(Number(e));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

function killSync(l) {
  for (const c of l.children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
  // a SIGKILLed slurmstepd leaves its job running: kill those too (twice, for forks in between)
  for (let i = 0; i < 2; i++) {
    for (const pid of clusterPids(l.conf)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
  if (!process.env.BRONZE_KEEP) {
    try { rmSync(l.dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  live.delete(l);
}
process.on('exit', () => { for (const l of [...live]) killSync(l); });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const l of [...live]) killSync(l);
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

// ---------------------------------------------------------------- helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs a command without blocking the event loop; resolves {code, stdout, stderr}. */
function exec(file, args, { env, cwd, timeout = 60000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd, timeout, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr: stderr || (err && !stderr ? err.message : '') });
    });
  });
}

function tail(file, n = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

/** Parses `scontrol -o show job` output: one record per line, KEY=VALUE fields. */
export function parseJobs(text) {
  const jobs = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('JobId=')) continue;
    const f = {};
    // values never contain spaces except Command/WorkDir paths, which we do not need
    for (const m of line.matchAll(/(\w[\w/:]*)=(\S*)/g)) if (!(m[1] in f)) f[m[1]] = m[2];
    jobs.push({
      jobId: Number(f.JobId),
      arrayJobId: f.ArrayJobId ? Number(f.ArrayJobId) : null,
      taskId: f.ArrayTaskId !== undefined && /^\d+$/.test(f.ArrayTaskId) ? Number(f.ArrayTaskId) : null,
      arrayTaskSpec: f.ArrayTaskId ?? null, // a pending array's remaining "0-3" form
      state: f.JobState,
      reason: f.Reason,
      exitCode: f.ExitCode, // "status:signal"
      dependency: f.Dependency,
      stdout: f.StdOut,
    });
  }
  return jobs;
}

// Job states after which a job never runs again (scontrol's names).
const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED']);

// ---------------------------------------------------------------- start
/**
 * Starts munged, slurmctld and slurmd configured in a fresh temp dir and waits
 * until the node `localhost` (CPUs=cpus) is idle. Throws with the daemons' log
 * tails when it does not come up within `timeout` ms.
 */
export async function startSlurm({ cpus = 2, timeout = 60000 } = {}) {
  const reason = slurmMissing();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(path.join(tmpdir(), 'bronze-slurm-'));
  chmodSync(dir, 0o755); // munged wants its socket's directories traversable
  for (const d of ['munge', 'state', 'spool', 'log']) mkdirSync(path.join(dir, d));
  chmodSync(path.join(dir, 'munge'), 0o700);
  const conf = path.join(dir, 'slurm.conf');
  const l = { dir, conf, children: [] };
  live.add(l);

  const key = path.join(dir, 'munge/munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const sock = path.join(dir, 'munge/munge.socket');
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const log = (n) => path.join(dir, 'log', n);
  writeFileSync(conf, `# written by tests/integration/lib/slurm.mjs
ClusterName=bronzetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${ctldPort}
SlurmdPort=${slurmdPort}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=${sock}
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=100000
ReturnToService=2
MinJobAge=3600
KillWait=5
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${log('slurmctld.log')}
SlurmdLogFile=${log('slurmd.log')}
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`);
  // slurmd always loads a cgroup plugin, even with proctrack/linuxproc and
  // task/none, and autodetect fails where /sys/fs/cgroup is not mounted (a
  // chroot): cgroup/v1 on an empty folder of ours loads and is never used.
  mkdirSync(path.join(dir, 'cgroup'));
  writeFileSync(path.join(dir, 'cgroup.conf'), `CgroupPlugin=cgroup/v1\nCgroupMountpoint=${dir}/cgroup\nCgroupAutomount=no\n`);
  const env = { ...process.env, SLURM_CONF: conf };
  const daemon = (name, args) => {
    const fd = openSync(log(`${name}.out`), 'a');
    const c = spawn(which(name), args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    c.on('error', () => {});
    l.children.push(c);
    return c;
  };
  const fail = async (what) => {
    const logs = ['munged.log', 'munged.out', 'slurmctld.out', 'slurmctld.log', 'slurmd.out', 'slurmd.log']
      .map((n) => `--- ${n}\n${tail(log(n))}`).join('\n');
    await handle.stop();
    throw new Error(`test Slurm: ${what}\n${logs}`);
  };

  daemon('munged', ['-F', '--force', `--socket=${sock}`, `--key-file=${key}`, `--log-file=${log('munged.log')}`,
    `--pid-file=${dir}/munge/munged.pid`, `--seed-file=${dir}/munge/munged.seed`, '--num-threads=2']);

  const handle = {
    dir,
    conf,
    /** The environment slurm's commands need (SLURM_CONF), merged over process.env. */
    env,
    /** Runs a Slurm client command (scontrol, squeue, ...) or a script (a path) with SLURM_CONF set. */
    async cmd(name, args, opts = {}) {
      return exec(name.includes('/') ? name : which(name), args, { env: { ...env, ...(opts.env || {}) }, cwd: opts.cwd });
    },
    /**
     * sbatch ARGS in cwd with env (merged over process.env + SLURM_CONF; sbatch
     * exports the whole environment to the job). Returns the job id (a number).
     */
    async sbatch(args, { cwd, env: extra = {} } = {}) {
      const r = await handle.cmd('sbatch', ['--parsable', ...args], { cwd, env: extra });
      if (r.code !== 0) throw new Error(`sbatch ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      const id = Number(r.stdout.trim().split(';')[0]);
      if (!Number.isInteger(id)) throw new Error(`sbatch printed no job id: ${r.stdout}`);
      return id;
    },
    /** The job's records (one per array task), from `scontrol -o show job ID`. */
    async jobs(id) {
      const r = await handle.cmd('scontrol', ['-o', 'show', 'job', String(id)]);
      if (r.code !== 0) throw new Error(`scontrol show job ${id} failed: ${r.stderr.trim()}`);
      return parseJobs(r.stdout);
    },
    /**
     * Waits until job `id` (every task of an array) is in a final state
     * (COMPLETED, FAILED, CANCELLED, ...). Resolves the records sorted by task
     * id; throws after `timeout` ms with the queue and the daemons' logs.
     */
    async waitJob(id, { timeout = 300000 } = {}) {
      const t0 = performance.now();
      for (;;) {
        const jobs = await handle.jobs(id);
        // a pending array shows one record with the remaining range ("1-3") until every task is split off;
        // that record is PENDING, so this waits for it too
        if (jobs.length && jobs.every((j) => FINAL.has(j.state))) {
          return jobs.sort((a, b) => (a.taskId ?? -1) - (b.taskId ?? -1));
        }
        if (performance.now() - t0 > timeout) {
          const q = await handle.cmd('squeue', ['-a']);
          throw new Error(`job ${id} not finished after ${timeout} ms: ${JSON.stringify(jobs)}\n${q.stdout}\n` +
            `--- slurmctld.log\n${tail(log('slurmctld.log'))}\n--- slurmd.log\n${tail(log('slurmd.log'))}`);
        }
        await sleep(250);
      }
    },
    /** The tail of a daemon's log (munged.log, slurmctld.log, slurmd.log). */
    log(name, n = 40) { return tail(log(name), n); },
    /** Cancels every job, stops the daemons and removes the temp dir (BRONZE_KEEP keeps it). */
    async stop() {
      if (!live.has(l)) return;
      const alive = (c) => c.exitCode === null && c.signalCode === null;
      if (l.children.length > 1 && alive(l.children[1])) {
        await handle.cmd('scancel', ['--user=root']).catch(() => {});
        for (let i = 0; i < 40; i++) {
          const q = await handle.cmd('squeue', ['-h', '-t', 'RUNNING,COMPLETING,PENDING', '-o', '%i']);
          if (q.code !== 0 || !q.stdout.trim()) break;
          await sleep(250);
        }
      }
      for (const c of [...l.children].reverse()) {
        if (!alive(c)) continue;
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([gone, sleep(5000)]);
      }
      killSync(l);
    },
  };

  // munged first: slurmctld refuses to start without it
  for (let i = 0; ; i++) {
    if (existsSync(sock)) break;
    if (i > 100) return fail('munged did not create its socket');
    await sleep(100);
  }
  daemon('slurmctld', ['-D', '-f', conf]);
  for (let i = 0; ; i++) {
    const r = await handle.cmd('scontrol', ['ping']);
    if (r.code === 0 && /UP/.test(r.stdout)) break;
    if (i * 200 > timeout) return fail('slurmctld did not answer scontrol ping');
    await sleep(200);
  }
  daemon('slurmd', ['-D', '-N', 'localhost', '-f', conf]);
  for (let i = 0; ; i++) {
    const r = await handle.cmd('sinfo', ['-h', '-N', '-o', '%t']);
    if (r.code === 0 && r.stdout.trim() === 'idle') break;
    if (i * 200 > timeout) return fail(`the node did not become idle (sinfo: ${r.stdout.trim() || r.stderr.trim()})`);
    await sleep(200);
  }
  return handle;
}

/** Runs fn(slurm) with a fresh cluster and always stops it afterwards. */
export async function withSlurm(opts, fn) {
  if (typeof opts === 'function') { fn = opts; opts = {}; }
  const slurm = await startSlurm(opts);
  try {
    return await fn(slurm);
  } finally {
    await slurm.stop();
  }
}
