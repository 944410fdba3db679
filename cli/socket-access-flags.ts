// `serve --socket-mode M --socket-group G` and the same for --read-only-socket:
// who may connect, as a file mode and a group (PostgreSQL's
// unix_socket_permissions / unix_socket_group).
import { readFile } from 'node:fs/promises';
import type { SocketAccess } from '../sidecar/index.js';

/** The access a socket gets from its two flags; a bad flag throws an Error naming it. */
export async function parseSocketAccess(flag: string, mode: string | undefined, group: string | undefined): Promise<SocketAccess> {
  const access: SocketAccess = { mode: mode === undefined ? 0o600 : parseMode(`--${flag}-mode`, mode) };
  if (group !== undefined) access.gid = await groupId(`--${flag}-group`, group);
  return access;
}

function parseMode(flag: string, text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new Error(`${flag} ${text}: expected an octal mode such as 0600 or 0660`);
  const mode = Number.parseInt(text, 8);
  if ((mode & 0o600) !== 0o600) throw new Error(`${flag} ${text}: the sidecar's own user needs read and write (6 in the first digit)`);
  // Every local user could read (and with w, change) the config: a group says who instead.
  if ((mode & 0o007) !== 0) throw new Error(`${flag} ${text}: other users may not connect; give them a group with --${flag.slice(2, -5)}-group and a mode such as 0660`);
  return mode;
}

/** A numeric gid, or a group name looked up in /etc/group. */
async function groupId(flag: string, group: string): Promise<number> {
  if (/^[0-9]+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = await readFile('/etc/group', 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === group && fields[2] !== undefined && /^[0-9]+$/.test(fields[2])) return Number(fields[2]);
  }
  throw new Error(`${flag} ${group}: no such group in /etc/group; give a group name from it or a numeric gid`);
}
