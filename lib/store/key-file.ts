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

/** Reads the key file, or creates it with a new key when there is none. Throws on an unreadable or invalid file. */
export async function loadOrCreateKeyFile(path: string): Promise<{ key: AuditKey; created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    const key = AuditKey.parse(text);
    if (key === undefined)
      throw new Error(`the audit key file ${path} does not hold a key (base64 or hex, at least 16 bytes)`);
    return { key, created: false };
  }
  const key = AuditKey.generate();
  // 'wx': never overwrite a key another process wrote meanwhile; 0600 whatever the umask allows more.
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${key.export()}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDirectory(path);
  return { key, created: true };
}
