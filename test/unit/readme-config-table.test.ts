import { readFile } from 'node:fs/promises';
import test from 'ava';
import { ENV_SPEC } from '../../services/config/config';
import { PROVIDER_ENV_DOC } from '../../services/config/provider-config';

test('the README documents every environment variable the config modules read', async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const names = [...Object.keys(ENV_SPEC), ...PROVIDER_ENV_DOC.map((d) => d.name)];
  const missing = names.filter((name) => !readme.includes(`\`${name}\``));
  t.deepEqual(missing, [], 'run `npm run -s env:table` and paste it into the README');
});
