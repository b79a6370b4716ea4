/**
 * The editor script (resources/dnc-editor.js) checks values in the dialogs with its own copies of the
 * rules, since it runs in the browser. These tests hold the copies to lib's rules: the built-in
 * channels, the label name, channel and source patterns, and the label definitions a configuration
 * dialog accepts. The script runs here in a sandbox with just enough of the editor's globals.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import * as fc from 'fast-check';
import { CHANNEL_PATTERN, KNOWN_CHANNELS, LABEL_NAME_PATTERN, LabelCatalog } from '../lib/labels';
import { RULES, ruleProblem } from '../lib/values';

const SCRIPT = path.join(__dirname, '..', '..', 'resources', 'dnc-editor.js');

interface EditorNode {
  channels?: unknown;
  _?: (key: string) => string;
}

interface DncEditor {
  CHANNELS: string[];
  PATTERNS: { labelName: RegExp; channel: RegExp; source: RegExp; country: RegExp };
  validate: { source(this: object, source: unknown, opt?: object): boolean | string };
  customChannelProblem(channels: unknown, node?: EditorNode): string | null;
  labelDefinitionProblem(labels: unknown, node?: EditorNode): string | null;
}

/** Runs the editor script `times` times in one sandbox; returns its namespace and the stylesheets it added. */
function loadEditorScript(times = 1): { editor: DncEditor; stylesheets: string[] } {
  const stylesheets: string[] = [];
  const window: { DncEditor?: DncEditor } = {};
  const sandbox = {
    window,
    RED: {
      _: (key: string) => key,
      settings: { apiRootUrl: '' },
      nodes: { node: () => null },
    },
    document: {
      createElement: () => ({}),
      head: { appendChild: (link: { href: string }) => stylesheets.push(link.href) },
    },
  };
  const code = fs.readFileSync(SCRIPT, 'utf8');
  const context = vm.createContext(sandbox);
  for (let i = 0; i < times; i++) vm.runInContext(code, context, { filename: SCRIPT });
  assert.ok(window.DncEditor, 'the script defines window.DncEditor');
  return { editor: window.DncEditor, stylesheets };
}

/** Strings near the patterns' edges: the characters they allow, a few they do not, any length to 70. */
const nearText = fc.string({
  unit: fc.constantFrom(...'aZ09_-.:é !,'.split(''), 'x'.repeat(31), 'Y'.repeat(63)),
  maxLength: 4,
});

describe('editor script rules (resources/dnc-editor.js) agree with lib', () => {
  const { editor } = loadEditorScript();

  it('defines its namespace once and adds its stylesheet once, however many html files load it', () => {
    const { stylesheets } = loadEditorScript(10);
    assert.deepEqual(stylesheets, ['resources/@dncflow/node-red-dnc/dnc-editor.css']);
  });

  it('knows the built-in channels lib knows', () => {
    assert.deepEqual([...editor.CHANNELS], [...KNOWN_CHANNELS]);
  });

  it('accepts the label names lib accepts', () => {
    fc.assert(
      fc.property(nearText, (name) => editor.PATTERNS.labelName.test(name) === LABEL_NAME_PATTERN.test(name)),
      { numRuns: 2000 },
    );
  });

  it('accepts the channel names lib accepts', () => {
    fc.assert(
      fc.property(nearText, (name) => editor.PATTERNS.channel.test(name) === CHANNEL_PATTERN.test(name)),
      { numRuns: 2000 },
    );
  });

  it('accepts the sources lib accepts (blank: the default source)', () => {
    fc.assert(
      fc.property(
        fc.oneof(nearText, fc.constant(''), fc.constant(null)),
        (source) =>
          (editor.validate.source.call({}, source) === true) === (ruleProblem(RULES.source, source) === null),
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts the label definitions and custom channels a DNC labels node starts with', () => {
    const definition = fc.record({
      name: fc.oneof(fc.constantFrom('DNC_Sales', 'dnc_sales', 'DNC_Global', 'X', ''), nearText),
      description: fc.constant(''),
      channels: fc.array(fc.constantFrom('voice', 'SMS ', 'fax', ' ivr-out', 'smss', 'bad name', '-x'), {
        maxLength: 3,
      }),
      global: fc.boolean(),
      expiresAfterDays: fc.constantFrom(null, '', 0, 1, 30, 0.5, 36500, 36500.5, 36501, -1, '7', 'x'),
    });
    const custom = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('', 'fax', 'fax, ivr-out', 'FAX , ,ivr-out', 'bad name', 'sms'),
      fc.array(fc.constantFrom('fax', 'ivr-out', 'Fax', '-x'), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(definition, { maxLength: 3 }), custom, (labels, channels) => {
        const node = { channels };
        const editorAccepts =
          editor.customChannelProblem(channels, node) === null &&
          editor.labelDefinitionProblem(labels, node) === null;
        let libAccepts = true;
        try {
          new LabelCatalog(labels, channels);
        } catch {
          libAccepts = false;
        }
        return editorAccepts === libAccepts;
      }),
      { numRuns: 3000 },
    );
  });
});
