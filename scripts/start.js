'use strict';
// `npm start`: the installed node-red (the devDependency, 4.1; Node-RED 5 on Node 22.9+ after
// `npm install --no-save node-red@5.0.x`) with this package loaded from the working tree, run by the
// Node.js running this script (run after `npm run build`; the npm script does both). The user directory is .node-red/ (git-ignored). On the first start (no
// flows file yet) every example from examples/*.json is deployed, each on its own tab.
//
// Environment: PORT (default 1880), HOST (default 127.0.0.1), NODE_RED_USER_DIR (default .node-red).
// DNC_POSTGRES_URL=postgres://... runs the examples on the PostgreSQL store instead: their DNC labels
// nodes get storeType "postgres" (the URL is read from the environment), in a user directory of their
// own (default .node-red-postgres) so that the embedded examples' flows are left as they are.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const postgresUrl = (process.env.DNC_POSTGRES_URL || '').trim();
const userDir = path.resolve(
  root,
  process.env.NODE_RED_USER_DIR || (postgresUrl ? '.node-red-postgres' : '.node-red'),
);
const port = Number.parseInt(process.env.PORT || '1880', 10);
const host = process.env.HOST || '127.0.0.1';
const flowFile = path.join(userDir, 'flows.json');

function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

if (!Number.isInteger(port) || port < 1 || port > 65535)
  fail(`PORT must be a port number, not "${process.env.PORT}"`);

let redJs;
try {
  redJs = require.resolve('node-red/red.js', { paths: [root] });
} catch {
  fail('node-red is not installed: run `npm install` first');
}

// The nodes Node-RED will load: package.json `node-red.nodes`, compiled into dist/.
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const [type, file] of Object.entries((pkg['node-red'] && pkg['node-red'].nodes) || {})) {
  if (!fs.existsSync(path.join(root, file)))
    fail(`${file} (${type}) does not exist: run \`npm run build\` first`);
}

function shortHash(text) {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function remapIds(value, ids) {
  if (typeof value === 'string') return ids.has(value) ? ids.get(value) : value;
  if (Array.isArray(value)) return value.map((v) => remapIds(v, ids));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = remapIds(v, ids);
    return out;
  }
  return value;
}

/** Config nodes have no position on a workspace. */
function isConfigNode(node) {
  return (
    node.type !== 'tab' &&
    node.type !== 'group' &&
    node.x === undefined &&
    node.y === undefined &&
    node.wires === undefined
  );
}

/** Every example on its own tab, with ids unique across examples. */
function examplesAsFlows() {
  const dir = path.join(root, 'examples');
  const flows = [];
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];
  for (const file of files) {
    const title = file.replace(/\.json$/, '');
    let nodes;
    try {
      nodes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch (err) {
      fail(`examples/${file} is not valid JSON: ${err.message}`);
    }
    const tabId = shortHash(`examples:tab:${title}`);
    const ids = new Map(nodes.map((n) => [n.id, shortHash(`examples:${title}:${n.id}`)]));
    flows.push({ id: tabId, type: 'tab', label: title, disabled: false, info: '' });
    for (const node of nodes) {
      const copy = remapIds(node, ids);
      if (isConfigNode(node)) delete copy.z;
      else copy.z = tabId;
      // The DNC labels nodes use PostgreSQL; their connection stays blank, so DNC_POSTGRES_URL is read.
      if (postgresUrl && copy.type === 'dnc-config') copy.storeType = 'postgres';
      flows.push(copy);
    }
  }
  return { flows, count: files.length };
}

fs.mkdirSync(userDir, { recursive: true });

const settings = {
  uiHost: host,
  uiPort: port,
  userDir,
  flowFile: 'flows.json',
  // Node-RED runs from the repository (cwd): the file nodes of examples 10 and 12 write their sample
  // registry files relative to the user directory, where the registries read them.
  fileWorkingDirectory: userDir,
  nodesDir: [root],
  // Development only: credentials in .node-red/ are not secret.
  credentialSecret: 'dnc-flow-development-only',
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false },
  externalModules: { palette: { allowInstall: false }, modules: { allowInstall: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
};
const settingsFile = path.join(userDir, 'settings.js');
fs.writeFileSync(
  settingsFile,
  `// Written by scripts/start.js on every start.\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`,
);

if (!fs.existsSync(flowFile)) {
  const { flows, count } = examplesAsFlows();
  fs.writeFileSync(flowFile, JSON.stringify(flows, null, 2) + '\n');
  console.log(
    `npm start: first start, deployed ${count} example flows into ${shown(flowFile)}` +
      (postgresUrl ? ' on the PostgreSQL store (DNC_POSTGRES_URL)' : ''),
  );
}

function shown(file) {
  const relative = path.relative(root, file);
  return relative === '' ? '.' : relative.startsWith('..') ? file : relative;
}

const editorHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
console.log(`npm start: Node-RED editor at http://${editorHost}:${port}/ (user directory ${shown(userDir)})`);

const child = spawn(process.execPath, [redJs, '--settings', settingsFile, '--userDir', userDir], {
  cwd: root,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('error', (err) => fail(`could not start Node-RED: ${err.message}`));
child.on('exit', (code, signal) => {
  process.exit(code === null ? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1) : code);
});
