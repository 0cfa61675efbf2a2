// Where an AgentResult goes: stdout (one JSON line), the container's termination message (the
// kubelet reads at most 4096 bytes; a missing or read-only path is ignored, as outside a pod) and,
// for a save, the meta file beside the backup (written atomically: temp file, fsync, rename).
import { open, rename, writeFile } from 'node:fs/promises';
import type { AgentResult } from './contract.ts';

export const TERMINATION_MESSAGE_LIMIT = 4096;

/** The JSON of a result, shortened (the error message first) to fit the termination message. */
export function terminationMessage(result: AgentResult): string {
  let text = JSON.stringify(result);
  if (Buffer.byteLength(text) <= TERMINATION_MESSAGE_LIMIT || !result.error)
    return text.slice(0, TERMINATION_MESSAGE_LIMIT);
  const over = Buffer.byteLength(text) - TERMINATION_MESSAGE_LIMIT;
  const message = result.error.message;
  const keep = Math.max(0, message.length - over - 16);
  text = JSON.stringify({ ...result, error: { ...result.error, message: `${message.slice(0, keep)} …` } });
  return text;
}

export async function writeTerminationMessage(path: string, result: AgentResult): Promise<boolean> {
  try {
    await writeFile(path, terminationMessage(result));
    return true;
  } catch {
    return false;
  }
}

export async function writeFileDurably(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
