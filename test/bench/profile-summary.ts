/**
 * Summarises `.cpuprofile` files (from `npm run bench -- --profile`): self time by function and
 * by source area (Herald's own folders, each dependency, Node internals, GC, idle), so a closing
 * note can say where the time goes from a profile rather than a guess.
 *
 *   node --import tsx test/bench/profile-summary.ts bench-results/profiles/<timestamp>/*.cpuprofile
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return '(gc)';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const rel = /\/(core|services|test)\/(.*)$/.exec(url);
  if (rel) return `${rel[1]}/${rel[2].split('/')[0]}`;
  return url;
}

async function summarise(file: string, top: number): Promise<void> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const area = areaOf(url, functionName);
    const key = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''} [${area}]`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  console.log(`\n## ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled`);
  console.log('\nby area:');
  for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${area}`);
  console.log('\nby function (self):');
  for (const [fn, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${fn}`);
}

const files = process.argv.slice(2).filter((f) => f.endsWith('.cpuprofile'));
if (files.length === 0) {
  console.error('usage: node --import tsx test/bench/profile-summary.ts <file.cpuprofile>...');
  process.exit(2);
}
for (const file of files) await summarise(file, Number(process.env.TOP ?? 20));
