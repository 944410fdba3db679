// A sidecar process whose persistence goes through a FaultyFs that kills the
// process (SIGKILL) on entering a chosen file-system step: a crash at exactly
// that point, for the failpoint tests. Usage:
//   crashing-sidecar CONFIG SOCKET STEP [ROTATE_BYTES]
// STEP counts the steps after start-up (1 = the first; 0 = never crash), or
// is hold:NAME: the first step NAME after start-up never ends (the process
// prints "HELD" on entering it), so a test can act, then kill the process.
// ROTATE_BYTES: the commit journal starts again from a checkpoint past this
// size (1: after every rewrite of the file, so its steps are crashed in too).
// Prints "READY" on stdout when ready; on SIGUSR2 prints "steps <names>",
// the steps taken since start-up, so a test can count them first.
import { Sidecar, createLogger } from '../../sidecar/index.js';
import { FaultyFs, type FailStep } from './faulty-fs.js';

const [configPath, socketPath, stepArg, rotateArg] = process.argv.slice(2);
const faulty = new FaultyFs();
const sidecar = await Sidecar.start({
  configPath,
  socketPath,
  fs: faulty.fs,
  logger: createLogger('silent'),
  ...(rotateArg === undefined ? {} : { journalRotateBytes: Number(rotateArg) }),
});
const started = faulty.log.length;
if (stepArg?.startsWith('hold:')) void faulty.holdAt(stepArg.slice('hold:'.length) as FailStep).entered.then(() => process.stdout.write('HELD\n'));
else if (Number(stepArg) > 0) faulty.crashAt(Number(stepArg));
process.on('SIGUSR2', () => process.stdout.write(`steps ${faulty.log.slice(started).join(',')}\n`));
process.once('SIGTERM', () => void sidecar.stop().then(() => process.exit(0)));
process.stdout.write('READY\n');
