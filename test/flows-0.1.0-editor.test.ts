/**
 * Flows saved by 0.1.0 (test/fixtures/flows-0.1.0: the examples as shipped in 0.1.0, commit a45946d)
 * are valid in today's editor: every `validate` function of today's node definitions (nodes/*.html,
 * with resources/dnc-editor.js) accepts every node's properties as 0.1.0 saved them, with the
 * properties added since left unset, as Node-RED's editor holds a flow it loads from the runtime or
 * imports (it fills in defaults only for the quick-add and suggestion paths). The scripts run here in
 * a sandbox with just enough of the editor's globals, as in test/editor-rules.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

const ROOT = path.join(__dirname, '..', '..');
const FLOWS = path.join(ROOT, 'test', 'fixtures', 'flows-0.1.0');

type Validate = (this: Record<string, unknown>, value: unknown, opt?: object) => boolean | string;
interface NodeDef {
  defaults: Record<string, { value?: unknown; required?: boolean; type?: string; validate?: Validate }>;
  oneditprepare?: () => void;
}

/** Today's node definitions, registered by running the html files' scripts against `nodesById`. */
function loadDefinitions(nodesById: Map<string, Record<string, unknown>>): Map<string, NodeDef> {
  const defs = new Map<string, NodeDef>();
  const window: Record<string, unknown> = {};
  const RED = {
    _: (key: string) => key,
    settings: { apiRootUrl: '' },
    nodes: {
      node: (id: string) => nodesById.get(id) ?? null,
      registerType: (type: string, def: NodeDef) => defs.set(type, def),
      getType: (type: string) => defs.get(type),
    },
    // Node-RED's own typedInput validator is not what these tests are about: any value passes.
    validators: { typedInput: () => () => true, number: () => () => true, regex: () => () => true },
    plugins: { registerPlugin: () => undefined },
    events: { on: () => undefined },
    comms: { subscribe: () => undefined },
    popover: { tooltip: () => undefined },
  };
  const context = vm.createContext({
    window,
    RED,
    document: { createElement: () => ({}), head: { appendChild: () => undefined } },
    console,
  });
  vm.runInContext(fs.readFileSync(path.join(ROOT, 'resources', 'dnc-editor.js'), 'utf8'), context);
  (context as Record<string, unknown>).DncEditor = window.DncEditor;
  for (const file of fs.readdirSync(path.join(ROOT, 'nodes')).filter((f) => f.endsWith('.html'))) {
    const html = fs.readFileSync(path.join(ROOT, 'nodes', file), 'utf8');
    for (const match of html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) {
      vm.runInContext(match[1], context, { filename: file });
    }
  }
  return defs;
}

/** What Node-RED's editor (validateNode) checks for each property: required, config reference, validate. */
function problems(node: Record<string, unknown>, def: NodeDef, nodesById: Map<string, unknown>): string[] {
  const found: string[] = [];
  const editorNode = { ...node, _: (key: string) => key, _def: def };
  for (const [property, spec] of Object.entries(def.defaults)) {
    const value = node[property];
    if (spec.required && (value === undefined || value === '' || value === null)) {
      found.push(`${property}: required`);
    }
    if (spec.type && typeof value === 'string' && value !== '' && !nodesById.has(value)) {
      found.push(`${property}: no ${spec.type} ${value}`);
    }
    if (spec.validate) {
      const verdict = spec.validate.call(editorNode, value, {});
      if (verdict !== true) found.push(`${property}: ${String(verdict)}`);
    }
  }
  return found;
}

describe("flows saved by 0.1.0 in today's editor", () => {
  const files = fs.readdirSync(FLOWS).filter((f) => f.endsWith('.json'));

  it('has the 11 examples 0.1.0 shipped', () => {
    assert.equal(files.length, 11);
  });

  for (const file of files) {
    it(`${file}: no node is invalid`, () => {
      const flow = JSON.parse(fs.readFileSync(path.join(FLOWS, file), 'utf8')) as Record<string, unknown>[];
      const nodesById = new Map(flow.map((n) => [String(n.id), n]));
      const defs = loadDefinitions(nodesById);
      const invalid: string[] = [];
      for (const node of flow) {
        const def = defs.get(String(node.type));
        if (!def) continue; // a core node
        for (const problem of problems(node, def, nodesById))
          invalid.push(`${String(node.type)} ${String(node.id)}: ${problem}`);
      }
      assert.deepEqual(invalid, []);
    });
  }
});
