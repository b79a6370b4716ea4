/**
 * The translated message catalogs and help pages, read from the source tree (nodes/locales), so a key
 * added to en-US alone fails here until every language has it:
 * - every language folder has every en-US catalog, with exactly en-US's key paths (missing and extra
 *   paths are reported), and each value keeps en-US's `__placeholders__`, HTML tags, codes
 *   (DNC_Global, UNKNOWN_CHANNEL...) and msg property paths;
 * - statuses (`status.*` keys, any depth) are short in every language;
 * - es-ES and pt-BR (and any language that ships help) have a help page per en-US page, for the same
 *   node, with the same structure and the same code;
 * - the build copies every locale folder into dist, and `npm pack` ships them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { shortText } from '../nodes/shared/status';

const ROOT = path.join(__dirname, '..', '..');
const SOURCE = path.join(ROOT, 'nodes', 'locales');
const BASE = 'en-US';
/** The languages issue 14 asks for; any other folder under nodes/locales is checked the same way. */
const REQUIRED = ['de', 'es-ES', 'fr', 'ja', 'pt-BR'];
/** Languages whose help pages are required (others may ship help; it is then checked too). */
const HELP_REQUIRED = ['es-ES', 'pt-BR'];
/** Node-RED shows about 20 characters of a status; no status may be longer than this... */
const STATUS_MAX = 24;
/** ...with each `__placeholder__` filled by a value this long (a count, a short label or registry id). */
const PLACEHOLDER_LENGTH = 4;
/** The longest status text the nodes show whole (nodes/shared/status.ts cuts longer ones with "…"). */
const SHOWN = Math.max(
  ...[...Array(STATUS_MAX + 1).keys()].filter((n) => shortText('x'.repeat(n)).length === n),
);

type Catalog = { [key: string]: string | Catalog };

function languages(): string[] {
  return fs
    .readdirSync(SOURCE, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== BASE)
    .map((e) => e.name)
    .sort();
}

function files(lang: string, ext: string): string[] {
  const dir = path.join(SOURCE, lang);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort();
}

function readCatalog(lang: string, file: string): Catalog {
  return JSON.parse(fs.readFileSync(path.join(SOURCE, lang, file), 'utf8')) as Catalog;
}

/** Every leaf of a catalog: key path -> value (a non-string leaf is kept as its JSON, so it differs). */
function flatten(catalog: Catalog, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [key, value] of Object.entries(catalog)) {
    const at = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) flatten(value, at, out);
    else out.set(at, typeof value === 'string' ? value : `<not a string: ${JSON.stringify(value)}>`);
  }
  return out;
}

/** The parts of a value a translation must keep unchanged, each as a sorted list. */
const KEPT: Record<string, RegExp> = {
  placeholders: /__[A-Za-z0-9_]+__/g,
  'HTML tags': /<\/?[a-z][a-z0-9]*\b[^>]*>/g,
  'HTML entities': /&[a-z]+;/g,
  codes: /\b[A-Z][A-Z0-9]*_[A-Za-z0-9_]+\b/g,
  'msg properties': /\bmsg\.[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9]/g,
};

function kept(value: string, pattern: RegExp): string[] {
  return (value.match(pattern) ?? []).sort();
}

function statusLength(value: string): number {
  return [...value.replace(KEPT.placeholders, 'x'.repeat(PLACEHOLDER_LENGTH))].length;
}

function isStatusKey(keyPath: string): boolean {
  return keyPath.split('.').includes('status');
}

/**
 * Every status of a language's catalogs fits: at most STATUS_MAX characters, and (translations) no longer
 * than what a node shows whole, unless en-US's own is longer (then no longer than en-US's).
 */
function statusesFit(lang: string): void {
  const long: string[] = [];
  for (const file of files(lang, '.json')) {
    const english = lang === BASE ? null : flatten(readCatalog(BASE, file));
    for (const [key, value] of flatten(readCatalog(lang, file))) {
      if (!isStatusKey(key)) continue;
      const length = statusLength(value);
      const own = english?.get(key);
      const budget =
        own === undefined ? STATUS_MAX : Math.min(STATUS_MAX, Math.max(SHOWN, statusLength(own)));
      if (length > budget) long.push(`${file} ${key}: "${value}" (${length}, at most ${budget})`);
    }
  }
  assert.deepEqual(long, [], `${lang}: statuses too long`);
}

describe('message catalogs and help pages in every language', function () {
  const base = files(BASE, '.json');

  it(`en-US keeps every status within ${STATUS_MAX} characters`, function () {
    statusesFit(BASE);
  });

  it('has the languages issue 14 asks for, each with every en-US catalog', function () {
    assert.ok(base.length > 0, 'en-US has catalogs');
    const langs = languages();
    for (const lang of REQUIRED) assert.ok(langs.includes(lang), `nodes/locales/${lang} exists`);
    const missing = langs.flatMap((lang) =>
      base.filter((f) => !fs.existsSync(path.join(SOURCE, lang, f))).map((f) => `${lang}/${f}`),
    );
    assert.deepEqual(missing, [], 'catalogs missing');
    const extra = langs.flatMap((lang) =>
      files(lang, '.json')
        .filter((f) => !base.includes(f))
        .map((f) => `${lang}/${f}`),
    );
    assert.deepEqual(extra, [], 'catalogs en-US does not have');
  });

  for (const lang of [...new Set([...REQUIRED, ...languages()])].sort()) {
    describe(lang, function () {
      it('has exactly the key paths of en-US in every catalog', function () {
        const problems: string[] = [];
        for (const file of base) {
          if (!fs.existsSync(path.join(SOURCE, lang, file))) {
            problems.push(`${file}: missing`);
            continue;
          }
          const want = flatten(readCatalog(BASE, file));
          const have = flatten(readCatalog(lang, file));
          for (const key of want.keys()) if (!have.has(key)) problems.push(`${file}: lacks ${key}`);
          for (const key of have.keys())
            if (!want.has(key)) problems.push(`${file}: has ${key}, en-US does not`);
        }
        assert.deepEqual(problems, [], `${lang}: key paths differ from en-US`);
      });

      it("keeps en-US's placeholders, HTML, codes and msg properties in every value, and translates nothing to empty", function () {
        const problems: string[] = [];
        for (const file of base.filter((f) => fs.existsSync(path.join(SOURCE, lang, f)))) {
          const want = flatten(readCatalog(BASE, file));
          const have = flatten(readCatalog(lang, file));
          for (const [key, value] of have) {
            const english = want.get(key);
            if (english === undefined) continue;
            if (value.trim() === '' && english.trim() !== '') problems.push(`${file} ${key}: empty`);
            for (const [what, pattern] of Object.entries(KEPT)) {
              const a = kept(english, pattern);
              const b = kept(value, pattern);
              if (JSON.stringify(a) !== JSON.stringify(b))
                problems.push(`${file} ${key}: ${what} ${JSON.stringify(b)}, en-US has ${JSON.stringify(a)}`);
            }
          }
        }
        assert.deepEqual(problems, [], `${lang}: values that lost or gained kept parts`);
      });

      it(`keeps every status within ${SHOWN} characters (or en-US's length), at most ${STATUS_MAX}`, function () {
        statusesFit(lang);
      });

      const helpRequired = HELP_REQUIRED.includes(lang);
      it(`${helpRequired ? 'has' : 'if it ships help, has'} a help page per en-US page, for the same node, with the same structure and code`, function () {
        const pages = files(BASE, '.html');
        const shipped = files(lang, '.html');
        if (!helpRequired && shipped.length === 0) return;
        const problems: string[] = [];
        for (const file of shipped)
          if (!pages.includes(file)) problems.push(`${file}: en-US has no such page`);
        for (const file of pages) {
          if (!shipped.includes(file)) {
            problems.push(`${file}: missing`);
            continue;
          }
          const english = fs.readFileSync(path.join(SOURCE, BASE, file), 'utf8');
          const page = fs.readFileSync(path.join(SOURCE, lang, file), 'utf8');
          const names = (text: string) => [...text.matchAll(/data-help-name="([^"]*)"/g)].map((m) => m[1]);
          const node = file.replace(/\.html$/, '');
          if (JSON.stringify(names(page)) !== JSON.stringify([node]))
            problems.push(`${file}: data-help-name ${JSON.stringify(names(page))}, expected ["${node}"]`);
          for (const tag of ['h3', 'dl', 'dt', 'dd', 'p', 'ul', 'ol', 'li', 'pre', 'table', 'tr']) {
            const count = (text: string) => (text.match(new RegExp(`<${tag}\\b`, 'g')) ?? []).length;
            if (count(page) !== count(english))
              problems.push(`${file}: ${count(page)} <${tag}>, en-US has ${count(english)}`);
          }
          const code = (text: string) =>
            [...text.matchAll(/<(code|pre)\b[^>]*>([\s\S]*?)<\/\1\s*>/g)]
              .map((m) => m[2].replace(/\s+/g, ' ').trim())
              .sort();
          const missingCode = code(english).filter((c) => !code(page).includes(c));
          if (missingCode.length > 0)
            problems.push(`${file}: code changed or missing: ${JSON.stringify(missingCode)}`);
          const types = (text: string) =>
            [...text.matchAll(/<span class="property-type">([^<]*)<\/span>/g)].map((m) => m[1]).sort();
          if (JSON.stringify(types(page)) !== JSON.stringify(types(english)))
            problems.push(`${file}: property types differ from en-US`);
        }
        assert.deepEqual(problems, [], `${lang}: help pages`);
      });
    });
  }

  it('the build copies every locale folder into dist', function () {
    const dist = path.join(ROOT, 'dist', 'nodes', 'locales');
    const missing: string[] = [];
    for (const lang of [BASE, ...languages()]) {
      for (const file of fs.readdirSync(path.join(SOURCE, lang))) {
        const copy = path.join(dist, lang, file);
        if (
          !fs.existsSync(copy) ||
          !fs.readFileSync(copy).equals(fs.readFileSync(path.join(SOURCE, lang, file)))
        )
          missing.push(`${lang}/${file}`);
      }
    }
    assert.deepEqual(missing, [], 'locale files not in dist (or stale)');
  });

  it('npm pack ships every locale file', function () {
    this.timeout(60000);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const packed = new Set(
      (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path.replace(/\\/g, '/')),
    );
    const missing: string[] = [];
    for (const lang of [BASE, ...languages()])
      for (const file of fs.readdirSync(path.join(SOURCE, lang)))
        if (!packed.has(`dist/nodes/locales/${lang}/${file}`)) missing.push(`${lang}/${file}`);
    assert.deepEqual(missing, [], 'locale files npm pack leaves out');
  });
});
