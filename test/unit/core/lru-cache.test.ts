import test from 'ava';
import { LruCache } from '../../../core/templates/lru-cache';

test('the cache forgets the least recently used entry beyond its capacity', (t) => {
  const cache = new LruCache<string, number>(2);
  cache.set('a', 1);
  cache.set('b', 2);
  t.is(cache.get('a'), 1); // a is now the most recent
  cache.set('c', 3);
  t.is(cache.get('b'), undefined);
  t.is(cache.get('a'), 1);
  t.is(cache.get('c'), 3);
  t.is(cache.size, 2);
});

test('the cache stays under its total weight and skips entries heavier than all of it', (t) => {
  const cache = new LruCache<string, string>(100, 10, (key) => key.length);
  cache.set('aaaa', 'x');
  cache.set('bbbb', 'y');
  cache.set('cccc', 'z'); // 12 > 10: evicts aaaa
  t.is(cache.get('aaaa'), undefined);
  t.is(cache.get('bbbb'), 'y');
  cache.set('k'.repeat(11), 'huge');
  t.is(cache.get('k'.repeat(11)), undefined);
  t.is(cache.get('cccc'), 'z');
});

test('a deleted entry is gone and gives its weight back', (t) => {
  const cache = new LruCache<string, string>(100, 8, (key) => key.length);
  cache.set('aaaa', 'x');
  cache.delete('aaaa');
  cache.delete('never-there');
  t.is(cache.get('aaaa'), undefined);
  t.is(cache.size, 0);
  cache.set('bbbb', 'y');
  cache.set('cccc', 'z'); // 8 <= 8 only because the deleted entry's weight was returned
  t.is(cache.get('bbbb'), 'y');
  t.is(cache.get('cccc'), 'z');
});
