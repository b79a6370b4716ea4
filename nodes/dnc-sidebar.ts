/**
 * `dnc-sidebar` (a Node-RED plugin): the editor's "DNC" sidebar tab, where administrators and flow designers
 * find a contact, see its labels, history and a decision preview, apply or remove a label with a reason, read
 * each label as a list, import a file, and see the store's and the registries' state.
 *
 * The runtime side has nothing of its own to serve: the tab talks to the admin mount of the HTTP API
 * (`dnc/...`, guarded by `dnc.read` / `dnc.write`, nodes/shared/api-mount.ts), and hears of changes through
 * Node-RED's comms (`dnc/changes`, published by each DNC labels node: nodes/shared/change-publisher.ts). The
 * editor side is dnc-sidebar.html and resources/dnc-sidebar.js.
 */
import type { NodeAPI } from 'node-red';

const SIDEBAR_PLUGIN = 'dnc-sidebar';

export = function (RED: NodeAPI) {
  const plugins = (RED as unknown as { plugins?: { registerPlugin(id: string, def: object): void } }).plugins;
  // Node-RED older than 1.3 has no plugins: the nodes work without the tab.
  plugins?.registerPlugin(SIDEBAR_PLUGIN, { type: 'dnc-sidebar' });
};
