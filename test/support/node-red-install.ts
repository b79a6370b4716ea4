/**
 * The Node-RED install the tests run and the Node.js that runs a Node-RED process. By default: the
 * package's own devDependency and the Node.js running the tests. The compatibility matrix
 * (scripts/compat-matrix.js) runs the same compiled tests against another install and another Node.js:
 * - DNC_NODE_RED_DIR: a node-red package folder (the test helper's runtime and the `node-red` processes);
 * - DNC_NODE_BIN: the node binary that starts `node-red` processes.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** The node-red package folder. */
export const NODE_RED_DIR = process.env.DNC_NODE_RED_DIR
  ? path.resolve(process.env.DNC_NODE_RED_DIR)
  : path.dirname(require.resolve('node-red/package.json'));

/** `require` as node-red itself resolves: its @node-red/* packages and their dependencies. */
export const requireFromNodeRed = createRequire(path.join(NODE_RED_DIR, 'package.json'));

/** node-red's main module (what the test helper's `init` takes). */
export const NODE_RED_MAIN = require.resolve(NODE_RED_DIR);

/** node-red's command (red.js). */
export const RED_JS = path.join(NODE_RED_DIR, 'red.js');

/** The Node.js binary that runs `node-red` processes. */
export const NODE_BIN = process.env.DNC_NODE_BIN ? path.resolve(process.env.DNC_NODE_BIN) : process.execPath;

/** The version of that node-red (`4.1.15`). */
export const NODE_RED_VERSION = (requireFromNodeRed('./package.json') as { version: string }).version;
