/**
 * The audit key's file, `<name>.key` beside the store (`dnc-store.key`): generated at the first open,
 * mode 0600, base64 on one line. Why a file and not (only) the config node's credentials: Node-RED
 * saves credentials only when the editor deploys them; a key a node generated at run time would be lost
 * at the next restart unless someone deployed in between, and records keyed with a lost key can no
 * longer be proven. A key given in the DNC labels node's credentials (encrypted by Node-RED's
 * credential secret) replaces the file's key; the file is then neither read nor created.
 */
import { open, readFile } from 'node:fs/promises';
import { AuditKey } from './audit-hash';
import { fsyncDirectory } from './snapshot';

/** `dnc-store.json` -> `dnc-store.key`. */
export function keyPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/i, '')}.key`;
}

/** The key file's key; undefined when there is no key file. Throws on an unreadable or invalid file. */
export async function readKeyFile(path: string): Promise<AuditKey | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const key = AuditKey.parse(text);
  if (key === undefined) {
    throw new Error(`the audit key file ${path} does not hold a key (base64 or hex, at least 16 bytes)`);
  }
  return key;
}

/** Creates the key file (never overwriting one), mode 0600 whatever the umask, fsynced with its folder. */
export async function writeKeyFile(path: string, key: AuditKey): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${key.export()}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDirectory(path);
}
