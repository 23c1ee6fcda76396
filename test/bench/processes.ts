/**
 * Child processes of a bench run: Herald roles (`herald serve api|scheduler`) and the BullMQ peer's
 * workers. Each child's output goes to its own log file; peak RSS is read from /proc/<pid>/status
 * (VmHWM, the resident high-water mark) just before the child is stopped.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HERALD_CLI = path.join(REPO_ROOT, 'services/cli/herald.ts');
/** Preload that ends a spawned process once its parent is gone, so a killed run leaves no orphans. */
export const EXIT_WITH_PARENT = path.join(REPO_ROOT, 'test/support/exit-with-parent.ts');

export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  /** Peak RSS so far in MiB (null once the process is gone). */
  peakRssMiB(): Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** VmHWM of a live process, in MiB. */
export async function readPeakRssMiB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds a live process has used so far. */
export async function readCpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** Machine-wide [busy, total] CPU ticks, to tell whether a run saturated the cores. */
export async function readMachineCpuTicks(): Promise<[number, number]> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = ticks[3] + (ticks[4] ?? 0);
  const total = ticks.reduce((a, b) => a + b, 0);
  return [total - idle, total];
}

/** CPU seconds so far of the local services, summed over their processes (every Postgres backend). */
export async function readServiceCpuSeconds(): Promise<Record<string, number>> {
  const out: Record<string, number> = { postgres: 0, kafka: 0, redis: 0 };
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      let service: string | undefined;
      if (comm === 'postgres') service = 'postgres';
      else if (comm === 'redis-server') service = 'redis';
      else if (comm === 'java' && (await readFile(`/proc/${entry}/cmdline`, 'utf8')).includes(`${REPO_ROOT}/`)) service = 'kafka';
      if (!service) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Own time plus reaped children's (the postmaster's cutime holds backends that exited).
      out[service] += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

export interface CpuUsage {
  /** CPU seconds used by each process in the window, then by each local service (postgres, kafka, redis). */
  seconds: Record<string, number | null>;
  /** Busy share of all the machine's cores in the window (Postgres, Kafka, Redis, the bench included). */
  machineBusy: number;
  wallSeconds: number;
}

/** Starts a CPU window over `procs`; the returned function closes it. */
export async function startCpuWindow(procs: BenchProcess[]): Promise<() => Promise<CpuUsage>> {
  const before = await Promise.all(procs.map((p) => readCpuSeconds(p.pid)));
  const servicesBefore = await readServiceCpuSeconds();
  const ownBefore = process.cpuUsage();
  const [busy0, total0] = await readMachineCpuTicks();
  const t0 = Date.now();
  return async () => {
    const after = await Promise.all(procs.map((p) => readCpuSeconds(p.pid)));
    const servicesAfter = await readServiceCpuSeconds();
    const [busy1, total1] = await readMachineCpuTicks();
    const seconds: Record<string, number | null> = {};
    procs.forEach((p, i) => (seconds[p.name] = after[i] !== null && before[i] !== null ? after[i]! - before[i]! : null));
    for (const name of Object.keys(servicesAfter)) seconds[name] = servicesAfter[name] - servicesBefore[name];
    const own = process.cpuUsage(ownBefore);
    seconds['bench client'] = (own.user + own.system) / 1e6;
    return { seconds, machineBusy: total1 > total0 ? (busy1 - busy0) / (total1 - total0) : 0, wallSeconds: (Date.now() - t0) / 1000 };
  };
}

export function ownPeakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

let logDir = path.join(REPO_ROOT, 'bench-results', 'logs');
export function setLogDir(dir: string): void {
  logDir = dir;
}
export function currentLogDir(): string {
  return logDir;
}

let profileDir: string | undefined;
/** When set, every forked child runs with `--cpu-prof` and writes its profile there on exit. */
export function setProfileDir(dir: string | undefined): void {
  profileDir = dir;
}

function wrap(name: string, child: ChildProcess, logFile: string): BenchProcess {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return {
    name,
    pid: child.pid!,
    child,
    logFile,
    exited,
    peakRssMiB: () => readPeakRssMiB(child.pid!),
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function openLog(name: string) {
  await mkdir(logDir, { recursive: true });
  const file = path.join(logDir, `${name}.log`);
  return { file, stream: createWriteStream(file, { flags: 'a' }) };
}

/** `node --import tsx services/cli/herald.ts serve <role>` with the given env on top of ours. */
export async function spawnHerald(role: 'api' | 'scheduler' | 'all', name: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<BenchProcess> {
  const { file, stream } = await openLog(name);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', '--import', EXIT_WITH_PARENT, HERALD_CLI, 'serve', role], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(stream);
  child.stderr!.pipe(stream);
  return wrap(name, child, file);
}

/** A TypeScript module forked with an IPC channel (the BullMQ peer's workers). */
export async function forkModule(modulePath: string, name: string, env: Record<string, string>): Promise<BenchProcess> {
  const { file, stream } = await openLog(name);
  const child = fork(modulePath, [], {
    cwd: REPO_ROOT,
    // One folder per process: the tsx loader thread writes a profile of its own next to the main one.
    execArgv: ['--import', 'tsx', '--import', EXIT_WITH_PARENT, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name)}`] : [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout!.pipe(stream);
  child.stderr!.pipe(stream);
  return wrap(name, child, file);
}

/** A free loopback port, for each api's HERALD_GRPC_ADDR. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port; fails early if `proc` exits. */
export async function waitForPort(address: string, proc: BenchProcess, timeoutMs = 60_000): Promise<void> {
  const [host, port] = address.split(':');
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`${proc.name} exited with ${exitCode} before listening on ${address}; see ${proc.logFile}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(port), host, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${proc.name} did not listen on ${address} within ${timeoutMs} ms; see ${proc.logFile}`);
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
