/**
 * Child processes of a bench run: Herald roles (`herald serve api|scheduler`) and the BullMQ peer's
 * workers. Each child's output goes to its own log file; peak RSS is read from /proc/<pid>/status
 * (VmHWM, the resident high-water mark) just before the child is stopped.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HERALD_CLI = path.join(REPO_ROOT, 'services/cli/herald.ts');

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
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', HERALD_CLI, 'serve', role], {
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
    execArgv: ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [])],
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
