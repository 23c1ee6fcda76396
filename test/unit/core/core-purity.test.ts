import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const CORE = fileURLToPath(new URL('../../../core', import.meta.url));

/** Modules that do I/O. core/ must reach the world only through its ports. */
const FORBIDDEN = [
  /^pg(\/|$)/,
  /^pg-/,
  /^knex(\/|$)/,
  /^kafkajs(\/|$)/,
  /^ioredis(\/|$)/,
  /^redlock(\/|$)/,
  /^@grpc\//,
  /^bullmq(\/|$)/,
  /^nodemailer(\/|$)/,
  /^smtp-server(\/|$)/,
  /^(node:)?(net|fs|fs\/promises|http|https|http2|child_process|dgram|dns|tls|worker_threads|cluster)$/,
  /^(\.\.\/)+services\//,
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every module specifier: static imports/exports, dynamic import() and require(). */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]);
  return specifiers;
}

test('the import scanner sees every import form it must police', (t) => {
  const sample = [
    "import { Pool } from 'pg';",
    "import type { Knex } from 'knex';",
    "export { x } from 'node:fs';",
    "import 'ioredis';",
    "const m = await import('@grpc/grpc-js');",
    "const net = require('net');",
    "import {\n  a,\n  b,\n} from 'kafkajs';",
  ].join('\n');
  const found = importsOf(sample);
  t.deepEqual(found.sort(), ['@grpc/grpc-js', 'ioredis', 'kafkajs', 'knex', 'net', 'node:fs', 'pg'].sort());
  t.true(found.every((s) => FORBIDDEN.some((p) => p.test(s))));
  t.false(['liquidjs', 'uuid', 'tinyduration', '../errors', './model'].some((s) => FORBIDDEN.some((p) => p.test(s))));
});

test('no file under core/ imports an I/O module', (t) => {
  const files = sourceFiles(CORE);
  t.true(files.length > 10, 'found the core sources');
  const offenders = files.flatMap((file) =>
    importsOf(readFileSync(file, 'utf8'))
      .filter((specifier) => FORBIDDEN.some((pattern) => pattern.test(specifier)))
      .map((specifier) => `${relative(CORE, file)} imports ${specifier}`),
  );
  t.deepEqual(offenders, []);
});
