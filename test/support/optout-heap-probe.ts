/**
 * Run by test/optout.test.ts in its own process (node --expose-gc): classifies a message carrying a
 * made-up name, lets go of it, and reports whether the text is still anywhere in the heap while the
 * classifier (and its cache of word readings) stays alive.
 */
import { getHeapSnapshot } from 'node:v8';
import { OptOutClassifier } from '../../lib/optout';

const classifier = new OptOutClassifier();
const name = `Zeb${Math.random().toString(36).slice(2, 12)}`;
(() => {
  // Built at run time, so the whole message exists only as the classified text.
  const text = ['My name is ', name, ', 42 Elm Road. Please stop sending me notifications'].join('');
  classifier.classify(text);
})();
// V8 keeps the subject of the last successful regular expression match until the next one, anywhere in
// the process; a match on something else lets it go, as any busy Node-RED does.
/y/.exec('y');
(globalThis as { gc?: () => void }).gc?.();
const wanted = `${name}, 42`;
let tail = '';
let found = false;
const stream = getHeapSnapshot();
stream.on('data', (chunk: Buffer) => {
  tail += chunk.toString('utf8');
  if (tail.includes(wanted)) found = true;
  tail = tail.slice(-wanted.length * 2);
});
stream.on('end', () => {
  process.stdout.write(JSON.stringify({ found, kept: classifier.patternCount > 0 }));
});
