import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';

const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

interface BenchResults {
  rows: Array<{ section: string; name: string }>;
  errors: Array<{ section: string; error: string }>;
}

/**
 * CI runs the benchmark in quick mode so the suite keeps working. It asserts only that every
 * section ran and reported, never a number: timings on a shared machine are not a test.
 */
test('npm run bench -- --quick runs every section and writes its JSON and markdown results', async (t) => {
  t.timeout(10 * 60_000);
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'herald-bench-'));
  t.teardown(() => rm(outDir, { recursive: true, force: true }));
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/exit-with-parent.ts', 'test/bench/run.ts', '--quick', `--out=${outDir}`], {
      cwd: REPO_ROOT,
      env: { ...process.env, HERALD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('exit', resolve);
  });
  t.is(code, 0, output.join('').slice(-4000));
  const files = await readdir(outDir);
  const json = files.find((f) => f.endsWith('.json'));
  t.truthy(json, 'a JSON result is written');
  t.truthy(files.find((f) => f.endsWith('.md')), 'a markdown table is written');
  const results = JSON.parse(await readFile(path.join(outDir, json!), 'utf8')) as BenchResults;
  t.deepEqual(results.errors, [], 'every section completed');
  const sections = new Set(results.rows.map((row) => row.section.split(' ')[0]));
  for (const section of ['a.', 'b.', 'c.', 'd.', 'e.', 'f.']) t.true(sections.has(section), `section ${section} reported rows`);
});
