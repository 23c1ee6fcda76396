import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pollUntil } from './test-env';

/**
 * Runs `herald serve <role>` as a real child process (node --import tsx services/cli/herald.ts)
 * for e2e and chaos tests: collects its pino JSON lines, waits for log lines instead of
 * sleeping, and sends it the signals a real deployment sees.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXIT_WITH_PARENT = fileURLToPath(new URL('./exit-with-parent.ts', import.meta.url));

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface HeraldProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Parsed stdout JSON lines so far; non-JSON output goes to `rawLines`. */
  readonly lines: LogLine[];
  readonly rawLines: string[];
  /** Resolves with the first line (already seen or future) matching `match`. */
  waitForLog(match: string | ((line: LogLine) => boolean), options?: { timeoutMs?: number; after?: number }): Promise<LogLine>;
  countLogs(match: string | ((line: LogLine) => boolean)): number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then waits for the exit (SIGKILL if it outlives `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  name?: string;
  /** Log line that means ready; default the CLI's `herald ready`. */
  readyLog?: string;
  readyTimeoutMs?: number;
  /** Echo the child's output to this process's stderr (debugging). */
  echo?: boolean;
}

/** Children still running when the test worker exits are killed with it; exit-with-parent covers a killed worker. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function spawnHerald(role: 'scheduler' | 'api' | 'all', env: Record<string, string>, options: SpawnOptions = {}): Promise<HeraldProcess> {
  const name = options.name ?? role;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', EXIT_WITH_PARENT, 'services/cli/herald.ts', 'serve', role], {
    cwd: ROOT,
    // The readiness and chaos checks read log lines, so the level is at least info whatever the test env says.
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env, HERALD_LOG_LEVEL: env.HERALD_CHILD_LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: LogLine[] = [];
  const rawLines: string[] = [];
  const echo = options.echo ?? process.env.HERALD_E2E_ECHO === '1';
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      live.delete(child);
      resolve({ code, signal });
    });
  });

  const collect = (stream: NodeJS.ReadableStream, isStdout: boolean) => {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (echo) process.stderr.write(`[${name}] ${text}\n`);
        if (!text.trim()) continue;
        if (isStdout && text.startsWith('{')) {
          try {
            lines.push(JSON.parse(text) as LogLine);
            continue;
          } catch {
            // fall through to raw
          }
        }
        rawLines.push(text);
      }
    });
  };
  collect(child.stdout!, true);
  collect(child.stderr!, false);

  const matcher = (match: string | ((line: LogLine) => boolean)) => (typeof match === 'string' ? (l: LogLine) => l.msg === match : match);

  const proc: HeraldProcess = {
    name,
    pid: child.pid!,
    child,
    lines,
    rawLines,
    async waitForLog(match, { timeoutMs = 60_000, after = 0 } = {}) {
      const test = matcher(match);
      let ended = false;
      // pollUntil keeps polling through errors, so a dead child is raced in separately.
      const died = exited.then(() => {
        ended = true;
      });
      const found = pollUntil(() => lines.slice(after).find(test) ?? (ended ? 'exited' : undefined), {
        timeoutMs,
        intervalMs: 50,
        what: `${name} to log ${typeof match === 'string' ? `"${match}"` : 'a matching line'}`,
      });
      void died;
      const result = await found;
      if (result === 'exited') {
        throw new Error(`${name} exited before logging the expected line; last output: ${rawLines.slice(-8).join(' | ')}`);
      }
      return result;
    },
    countLogs(match) {
      return lines.filter(matcher(match)).length;
    },
    exited,
    isRunning: () => running,
    kill(signal) {
      if (running) child.kill(signal);
    },
    async stop(timeoutMs = 15_000) {
      if (!running) return exited;
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  try {
    await proc.waitForLog(options.readyLog ?? 'herald ready', { timeoutMs: options.readyTimeoutMs ?? 60_000 });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return proc;
}
