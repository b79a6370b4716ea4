/** Node-RED's user directory (settings.userDir, else ~/.node-red): where relative paths of DNC files start. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';

export function userDir(RED: NodeAPI): string {
  const dir = (RED.settings as unknown as { userDir?: unknown }).userDir;
  return typeof dir === 'string' && dir !== '' ? dir : join(homedir(), '.node-red');
}
