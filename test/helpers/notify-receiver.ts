// A stand-in for systemd's NOTIFY_SOCKET: a real AF_UNIX datagram socket.
// Node cannot bind one, so a small python3 process does, printing every
// datagram as one JSON line (and closing the fds systemd-notify's BARRIER=1
// passes, which is how systemd answers a barrier).
import { execFile, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';

const RECEIVER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"bound": sys.argv[1]}), flush=True)
while True:
    data, ancillary, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps({"data": data.decode("utf-8", "replace")}), flush=True)
`;

export interface NotifyReceiver {
  /** Every datagram so far, each split into its VAR=VALUE lines; BARRIER=1 datagrams left out. */
  messages: string[][];
  /** Resolves with the index of the first message from `from` on that satisfies `match`; rejects after `timeoutMs`. */
  waitFor(match: (message: string[]) => boolean, from?: number, timeoutMs?: number): Promise<number>;
}

/** Why the receiver cannot run here (no python3 with AF_UNIX), or undefined when it can. */
export function receiverUnavailable(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', 'import socket; socket.AF_UNIX; socket.SOCK_DGRAM'], (error) =>
      resolve(error === null ? undefined : `python3 with AF_UNIX sockets is needed for the fake NOTIFY_SOCKET (${error.message.split('\n')[0]})`),
    );
  });
}

export async function startNotifyReceiver(t: TestContext, socketPath: string): Promise<NotifyReceiver> {
  const child = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const messages: string[][] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let bound = false;
  let buffered = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline)) as { bound?: string; data?: string };
      buffered = buffered.slice(newline + 1);
      if (line.bound !== undefined) bound = true;
      if (line.data !== undefined && line.data !== 'BARRIER=1') messages.push(line.data.split('\n').filter((l) => l !== ''));
    }
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`receiver exited (${code ?? signal}): ${stderr}`)));

  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        waiters.delete(wake);
        outcome();
      };
      const wake = () => {
        const found = check();
        if (found !== undefined) finish(() => resolve(found));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${what} not seen within ${timeoutMs} ms; got ${JSON.stringify(messages)}`))), timeoutMs);
      waiters.add(wake);
      void exited.then((reason) => finish(() => reject(new Error(reason))));
      wake();
    });

  await waitUntil(() => (bound ? true : undefined), 10_000, 'the receiver binding its socket');
  return {
    messages,
    waitFor: (match, from = 0, timeoutMs = 10_000) =>
      waitUntil(
        () => {
          const index = messages.findIndex((message, i) => i >= from && match(message));
          return index >= 0 ? index : undefined;
        },
        timeoutMs,
        'a matching notification',
      ),
  };
}
