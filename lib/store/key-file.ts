/**
 * The audit key's file, `<name>.key` beside the store (`dnc-store.key`): generated at the first open,
 * mode 0600, base64 on one line. Why a file and not (only) the config node's credentials: Node-RED
 * saves credentials only when the editor deploys them; a key a node generated at run time would be lost
 * at the next restart unless someone deployed in between, and records keyed with a lost key can no
 * longer be proven. A key given in the DNC labels node's credentials (encrypted by Node-RED's
 * credential secret) replaces the file's key; the file is then neither read nor created.
 */
import { open, rename } from 'node:fs/promises';
import { AuditKey } from './audit-hash';
import { fsyncDirectory, readTextIfExists } from './files';

/** `dnc-store.json` -> `dnc-store.key`. */
export function keyPathFor(snapshotPath: string): string {
  return `${snapshotPath.replace(/\.json$/i, '')}.key`;
}

/** The key file's key; undefined when there is no key file. Throws on an unreadable or invalid file. */
export async function readKeyFile(path: string): Promise<AuditKey | undefined> {
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  const key = AuditKey.parse(text);
  if (key === undefined) {
    throw new Error(`the audit key file ${path} does not hold a key (base64 or hex, at least 16 bytes)`);
  }
  return key;
}

/**
 * A new key is installed in two steps around the first checkpoint's creation: written to
 * `<key>.new` (fsynced) before the checkpoint, renamed to `<key>` after it. A crash in between leaves a
 * checkpoint and a pending key that authenticates it (the next open installs it), never a checkpoint
 * whose key is gone.
 */
export function pendingKeyPathFor(keyPath: string): string {
  return `${keyPath}.new`;
}

/** Writes the pending key (replacing an earlier pending one), mode 0600, fsynced. */
export async function writePendingKeyFile(keyPath: string, key: AuditKey): Promise<void> {
  const handle = await open(pendingKeyPathFor(keyPath), 'w', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${key.export()}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The pending key, undefined when there is none or it does not hold a key. */
export async function readPendingKeyFile(keyPath: string): Promise<AuditKey | undefined> {
  return readKeyFile(pendingKeyPathFor(keyPath)).catch(() => undefined);
}

/** Renames the pending key to the key file, fsyncing the folder. */
export async function installPendingKeyFile(keyPath: string): Promise<void> {
  await rename(pendingKeyPathFor(keyPath), keyPath);
  await fsyncDirectory(keyPath);
}
