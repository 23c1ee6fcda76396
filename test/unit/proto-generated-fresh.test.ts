import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const committed = path.join(root, 'services/grpc/gen');
const buf = path.join(root, 'node_modules/.bin/buf');

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

// The generated code is committed so that running Herald needs no codegen; this keeps it honest.
test('the committed generated code and descriptor set match what the protos generate now', async (t) => {
  const scratch = await mkdtemp(path.join(tmpdir(), 'herald-proto-'));
  t.teardown(() => rm(scratch, { recursive: true, force: true }));
  await run(buf, ['generate', '-o', scratch], { cwd: root });
  await run(buf, ['build', '-o', path.join(scratch, 'services/grpc/gen/herald.binpb')], { cwd: root });
  const fresh = path.join(scratch, 'services/grpc/gen');

  const [freshFiles, committedFiles] = await Promise.all([listFiles(fresh), listFiles(committed)]);
  t.deepEqual(committedFiles, freshFiles, 'the set of generated files differs: run `npm run proto:gen`');
  for (const file of freshFiles) {
    const [a, b] = await Promise.all([readFile(path.join(fresh, file)), readFile(path.join(committed, file))]);
    t.true(a.equals(b), `${file} is stale: run \`npm run proto:gen\``);
  }
});
