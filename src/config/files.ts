import { nodeCrypto } from '../util/node-crypto.js';
import { mkdir, readFile, rename, writeFile, unlink, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LoopIqError } from '../api/errors.js';

/** Write via temp file + rename, so readers never see half a file. File 0600, dir 0700. */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, content, { mode });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** undefined when the file does not exist; a named, actionable error when it is corrupt. */
export async function readJsonFile<T>(path: string, parse: (raw: unknown) => T): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return parse(JSON.parse(text));
  } catch (err) {
    throw new LoopIqError('config_invalid', `${path} is not valid: ${describeParseError(err)}.`, `Fix or delete ${path} (it was left untouched).`);
  }
}

/** A JSON syntax error or schema issues in words ("unknown key \"orgz\""), never a dumped array. */
export function describeParseError(err: unknown): string {
  const issues = (err as { issues?: { code?: string; path?: PropertyKey[]; message?: string; keys?: string[] }[] }).issues;
  if (Array.isArray(issues) && issues.length) {
    return issues
      .slice(0, 3)
      .map((i) => {
        const where = i.path?.length ? i.path.map(String).join('.') : '';
        const what = i.code === 'unrecognized_keys' && i.keys ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : (i.message ?? 'invalid');
        return where ? `${where}: ${what}` : what;
      })
      .join('; ')
      .replace(/\.$/, '');
  }
  return (err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)).replace(/\.$/, '');
}
