/**
 * Results: every section adds rows (for the markdown table) and raw data (for the JSON file).
 * Targets are reported against, never asserted: a missed target is a row that says "missed".
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Target {
  op: '>=' | '<=' | '==';
  value: number;
  /** Shown in the table, e.g. ">= 3,000 steps/s". */
  label: string;
}

export interface ResultRow {
  section: string;
  name: string;
  value: string;
  /** The number compared against the target, when there is one. */
  measured?: number;
  target?: Target;
  note?: string;
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  command: string;
  machine: Record<string, unknown>;
  args: unknown;
  rows: ResultRow[];
  data: Record<string, unknown>;
  errors: Array<{ section: string; error: string }>;
}

export function verdictOf(row: ResultRow): string {
  if (!row.target || row.measured === undefined || Number.isNaN(row.measured)) return '';
  const { op, value } = row.target;
  const met = op === '>=' ? row.measured >= value : op === '<=' ? row.measured <= value : row.measured === value;
  return met ? 'met' : 'MISSED';
}

export function describeMachine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const lines = [
    `Herald benchmark, ${results.startedAt}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}` +
      (m.postgres ? `, Postgres ${m.postgres}` : '') + (m.redis ? `, Redis ${m.redis}` : '') + (m.kafka ? `, Kafka ${m.kafka}` : ''),
    '',
    `Command: \`${results.command}\``,
    '',
    '| section | measurement | value | target | verdict |',
    '|---|---|---|---|---|',
  ];
  for (const row of results.rows) {
    const value = row.note ? `${row.value} (${row.note})` : row.value;
    lines.push(`| ${escapeCell(row.section)} | ${escapeCell(row.name)} | ${escapeCell(value)} | ${row.target ? escapeCell(row.target.label) : ''} | ${verdictOf(row)} |`);
  }
  if (results.errors.length > 0) {
    lines.push('', 'Sections that did not complete:', '');
    for (const e of results.errors) lines.push(`- **${e.section}**: ${escapeCell(e.error)}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes `<outDir>/<timestamp>.json` and `.md`; returns both paths. */
export async function writeResults(results: BenchResults, outDir: string): Promise<{ json: string; markdown: string }> {
  await mkdir(outDir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const json = path.join(outDir, `${stamp}.json`);
  const markdown = path.join(outDir, `${stamp}.md`);
  await writeFile(json, JSON.stringify(results, null, 2) + '\n');
  await writeFile(markdown, renderMarkdown(results));
  return { json, markdown };
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : 0);
