// A linearizability checker for histories of single-key operations (get, set,
// delete, and set/delete conditional on the value a client read): each key is
// a register, checked on its own with Wing & Gong's search as refined by Lowe
// (memoising linearized-set + state pairs, as Porcupine does). Writes whose
// outcome is unknown may have taken effect at any moment after their call, or
// never. See docs/decisions.md ("Linearizability checker").

/** What a key held: absent, or a JSON value. */
export type Slot = { exists: false } | { exists: true; value: unknown };

export type Call =
  | { type: 'get' }
  /** `expect`: a conditional write (ifModRevision), applied only if the key still holds what the client read. */
  | { type: 'set'; value: unknown; expect?: Slot }
  | { type: 'delete'; expect?: Slot };

export type Outcome =
  /** Done; a get says what it saw. */
  | { status: 'ok'; seen?: Slot }
  /** Definitely not applied (VALIDATION_FAILED, WRITE_FAILED, never sent...); a failed get says nothing. */
  | { status: 'failed' }
  /** A conditional write refused because the key had changed. */
  | { status: 'conflict' }
  /** Sent and never answered (OUTCOME_UNKNOWN, TIMEOUT after sending): applied or not, at any time after the call. */
  | { status: 'unknown' };

export interface Operation {
  key: string;
  call: Call;
  outcome: Outcome;
  /** When the call was made and when it returned, in ms on a clock shared by every process of the history. */
  invokeMs: number;
  /** Absent for a call that never returned (its outcome is then unknown). */
  returnMs?: number;
  /** Who made it (process and sequence number), for explanations. */
  label?: string;
  /** The error code it failed with, for explanations. */
  code?: string;
}

export interface CheckOptions {
  /** State of every key before the history (default: absent). */
  initial?: (key: string) => Slot;
  /**
   * 'checked': a CONFLICT proves the key did not hold the expected value. 'ignored': a CONFLICT is
   * only a write that did not happen (needed where the sidecar may refuse a CAS spuriously: its
   * modRevisions restart with a restart, docs/decisions.md). Default 'checked'.
   */
  conflicts?: 'checked' | 'ignored';
  /** Widens every interval by this much on both sides: the error of the clocks of different processes. */
  clockSlackMs?: number;
  /** Bounds of the search over all keys (default 20 million steps, 60 s); past them the verdict is 'unknown'. */
  maxSteps?: number;
  deadlineMs?: number;
}

export type KeyVerdict =
  | { key: string; result: 'linearizable'; operations: number; steps: number }
  | { key: string; result: 'not-linearizable'; operations: number; steps: number; explanation: string }
  | { key: string; result: 'unknown'; operations: number; steps: number; reason: string };

export interface Verdict {
  result: 'linearizable' | 'not-linearizable' | 'unknown';
  keys: KeyVerdict[];
  /** The explanations of the keys that failed (and why any key was left unknown), one paragraph each. */
  explanation: string;
}

/** Checks every key's history; the history is linearizable when every key's is. */
export function checkHistory(operations: readonly Operation[], options: CheckOptions = {}): Verdict {
  const byKey = new Map<string, Operation[]>();
  for (const op of operations) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const budget = { steps: options.maxSteps ?? 20_000_000, deadline: Date.now() + (options.deadlineMs ?? 60_000) };
  const origin = operations.reduce((min, op) => Math.min(min, op.invokeMs), Infinity);
  const keys = [...byKey.keys()].sort().map((key) => checkKey(key, byKey.get(key)!, options, budget, origin));
  const failed = keys.flatMap((k) => (k.result === 'not-linearizable' ? [k.explanation] : []));
  const unknown = keys.flatMap((k) => (k.result === 'unknown' ? [`key ${JSON.stringify(k.key)}: search stopped: ${k.reason}`] : []));
  return {
    result: failed.length > 0 ? 'not-linearizable' : unknown.length > 0 ? 'unknown' : 'linearizable',
    keys,
    explanation: [...failed, ...unknown].join('\n\n'),
  };
}

/** An operation as the search sees it: what it needs from the state, and what it leaves. */
interface SearchOp {
  source: Operation;
  /** Tries the op on `state` (a state key): the state after it, or undefined if it cannot happen there. */
  step(state: string): string | undefined;
  /** It only looks (a get, a checked conflict): never changes the state. */
  observer: boolean;
}

interface Entry {
  op: number;
  isCall: boolean;
  time: number;
  /** The call's return entry. */
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

function checkKey(key: string, all: Operation[], options: CheckOptions, budget: { steps: number; deadline: number }, origin: number): KeyVerdict {
  const conflicts = options.conflicts ?? 'checked';
  const initial = slotKey(options.initial?.(key) ?? { exists: false });
  const relevant = all.filter((op) => !carriesNothing(op, conflicts));
  const slack = options.clockSlackMs ?? 0;
  // Indexed in call order, so the placed set is mostly a prefix (which keeps memo keys short).
  const ops = withoutUnobservedUnknownWrites(relevant, conflicts, slack)
    .sort((a, b) => a.invokeMs - b.invokeMs)
    .map((op) => toSearchOp(op));

  // Lowe's list of call and return entries in time order; calls first at equal times (touching intervals overlap).
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    const ret: Entry = { op: i, isCall: false, time: (op.source.returnMs ?? Infinity) + slack, match: undefined, prev: undefined, next: undefined };
    entries.push({ op: i, isCall: true, time: op.source.invokeMs - slack, match: ret, prev: undefined, next: undefined }, ret);
  });
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall));
  const head: Entry = { op: -1, isCall: false, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const entry of entries) {
    entry.prev = last;
    last.next = entry;
    last = entry;
  }

  const linearized = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const seen = new Set<string>();
  const stack: { entry: Entry; state: string }[] = [];
  let state = initial;
  let entry = head.next;
  let steps = 0;
  // The longest linearization found (its length, last ops and placed set), and the op whose return ended it.
  let best: Deepest = { length: 0, tail: [], placed: linearized.slice(), state, blocker: undefined };

  while (head.next !== undefined) {
    if (++steps > budget.steps || ((steps & 0xfff) === 0 && Date.now() > budget.deadline)) {
      budget.steps -= steps;
      return { key, result: 'unknown', operations: ops.length, steps, reason: `step or time budget spent after ${steps} steps (${stack.length} of ${ops.length} operations placed)` };
    }
    if (entry === undefined) throw new Error('the entry list ended before a return entry');
    let dead = !entry.isCall;
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const next = op.step(state);
      if (next !== undefined) {
        linearized[entry.op >> 5]! ^= 1 << (entry.op & 31);
        const memo = next + '\u0000' + bitsKey(linearized);
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          if (stack.length > best.length) {
            best = { length: stack.length, tail: stack.slice(-5).map((s) => s.entry.op), placed: linearized.slice(), state, blocker: undefined };
          }
          entry = head.next;
          continue;
        }
        linearized[entry.op >> 5]! ^= 1 << (entry.op & 31);
        // An observer that fits here is best placed here (it changes nothing, and everything that
        // must precede it already does): if that was tried and failed, so does every other choice.
        dead = op.observer;
      }
      if (!dead) {
        entry = entry.next;
        continue;
      }
    }
    // Stuck: an op reached its return unplaced, or a placeable observer led nowhere. Undo the last placement.
    if (!entry.isCall && stack.length === best.length && best.blocker === undefined) best.blocker = entry.op;
    for (;;) {
      const top = stack.pop();
      if (top === undefined) {
        budget.steps -= steps;
        return { key, result: 'not-linearizable', operations: ops.length, steps, explanation: explain(key, ops, best, origin, slack) };
      }
      state = top.state;
      linearized[top.entry.op >> 5]! ^= 1 << (top.entry.op & 31);
      unlift(top.entry);
      entry = top.entry.next;
      // Leaving a placed observer out instead cannot help either (same argument): keep undoing.
      if (!ops[top.entry.op]!.observer) break;
    }
  }
  budget.steps -= steps;
  return { key, result: 'linearizable', operations: ops.length, steps };
}

/** Ops that constrain nothing: failed ones, gets that saw nothing, conflicts when they are not checked. */
function carriesNothing(op: Operation, conflicts: 'checked' | 'ignored'): boolean {
  if (op.outcome.status === 'failed') return true;
  if (op.call.type === 'get') return op.outcome.status !== 'ok';
  return op.outcome.status === 'conflict' && conflicts === 'ignored';
}

/**
 * Drops unknown-outcome writes nobody can have observed: a set whose value no get saw and no
 * conditional write expected, a delete after whose call nothing saw the key absent. Each could
 * equally have happened after everything else (its return is at infinity), where it changes
 * nothing observable; dropping them keeps the search from trying every subset of them at every
 * point. Only sound when conflicts do not count as observations, so not done then.
 */
function withoutUnobservedUnknownWrites(ops: Operation[], conflicts: 'checked' | 'ignored', slack: number): Operation[] {
  if (conflicts === 'checked' && ops.some((op) => op.outcome.status === 'conflict')) return ops;
  const observedValues = new Set<string>();
  const absentSeenUntil: number[] = [];
  for (const op of ops) {
    const looked: Slot | undefined = op.call.type === 'get' ? op.outcome.status === 'ok' ? op.outcome.seen : undefined : op.call.expect;
    if (looked === undefined) continue;
    if (looked.exists) observedValues.add(slotKey(looked));
    else absentSeenUntil.push(op.returnMs ?? Infinity);
  }
  const lastAbsentSeen = Math.max(-Infinity, ...absentSeenUntil);
  return ops.filter((op) => {
    if (op.outcome.status !== 'unknown' || op.call.type === 'get') return true;
    if (op.call.type === 'set') return observedValues.has(slotKey({ exists: true, value: op.call.value }));
    return lastAbsentSeen + 2 * slack >= op.invokeMs;
  });
}

function toSearchOp(op: Operation): SearchOp {
  const call = op.call;
  if (call.type === 'get') {
    const observed = (op.outcome as { seen?: Slot }).seen;
    if (observed === undefined) throw new Error(`${describe(op)}: a get that succeeded must say what it saw`);
    const seen = slotKey(observed);
    return { source: op, observer: true, step: (state) => (state === seen ? state : undefined) };
  }
  const after = call.type === 'set' ? slotKey({ exists: true, value: call.value }) : ABSENT;
  const expect = call.expect === undefined ? undefined : slotKey(call.expect);
  switch (op.outcome.status) {
    case 'ok':
      return { source: op, observer: false, step: (state) => (expect === undefined || state === expect ? after : undefined) };
    case 'conflict':
      return { source: op, observer: true, step: (state) => (expect !== undefined && state !== expect ? state : undefined) };
    case 'unknown':
      // Applied if its condition holds; if it doesn't, it was refused — also a possible outcome.
      return { source: op, observer: false, step: (state) => (expect === undefined || state === expect ? after : state) };
    case 'failed':
      throw new Error('failed operations are dropped before the search');
  }
}

const ABSENT = 'absent';

/** A state as a string: equal states, equal strings. */
function slotKey(slot: Slot): string {
  return slot.exists ? 'value ' + canonicalJson(slot.value) : ABSENT;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return '{' + Object.keys(record).sort().map((k) => JSON.stringify(k) + ':' + canonicalJson(record[k])).join(',') + '}';
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** The set as a string: the words from the first unplaced op to the last placed one (all before are placed). */
function bitsKey(bits: Uint32Array): string {
  let low = 0;
  while (low < bits.length && bits[low] === 0xffffffff) low++;
  let high = bits.length - 1;
  while (high > low && bits[high] === 0) high--;
  let out = String(low) + ':';
  for (let i = low; i <= high; i++) out += String.fromCharCode(bits[i]! & 0xffff, bits[i]! >>> 16);
  return out;
}

function lift(call: Entry): void {
  for (const entry of [call, call.match!]) {
    entry.prev!.next = entry.next;
    if (entry.next !== undefined) entry.next.prev = entry.prev;
  }
}

function unlift(call: Entry): void {
  for (const entry of [call.match!, call]) {
    entry.prev!.next = entry;
    if (entry.next !== undefined) entry.next.prev = entry;
  }
}

/** Where the search got stuck, in words: the end of the longest linearization and the operation that could not follow. */
/** The deepest point the search reached. */
interface Deepest {
  length: number;
  /** The last few ops placed, in order. */
  tail: number[];
  placed: Uint32Array;
  state: string;
  /** The first op found unplaceable at its return from there. */
  blocker: number | undefined;
}

function explain(key: string, ops: SearchOp[], best: Deepest, origin: number, slack: number): string {
  const widened = slack > 0 ? `; intervals widened by ${slack} ms on each side for the error of the clocks` : '';
  const lines = [`key ${JSON.stringify(key)}: not linearizable (${ops.length} operations${widened}).`];
  lines.push(
    best.length === 0
      ? `No operation can come first from the initial state ${best.state}.`
      : `The longest linearization found places ${best.length} operations${best.length > best.tail.length ? ', ending with' : ''}:`,
  );
  for (const i of best.tail) lines.push(`  ${describe(ops[i]!.source, origin)}`);
  if (best.length > 0) lines.push(`which leaves the key ${best.state}.`);
  if (best.blocker !== undefined) {
    const blocker = ops[best.blocker]!.source;
    lines.push(`Then this operation must take effect before it returns, and cannot, whichever of the others still open goes first:`);
    lines.push(`  ${describe(blocker, origin)}`);
    const placed = (i: number) => (best.placed[i >> 5]! & (1 << (i & 31))) !== 0;
    const open = ops
      .map((op, i) => ({ op: op.source, i }))
      .filter(({ op, i }) => !placed(i) && i !== best.blocker && op.invokeMs <= (blocker.returnMs ?? Infinity) + 2 * slack)
      .slice(0, 8);
    if (open.length > 0) {
      lines.push('Operations called before it returned and not placed:');
      for (const { op } of open) lines.push(`  ${describe(op, origin)}`);
    }
  }
  return lines.join('\n');
}

/** One operation on one line: who, what, what came back, when (ms from the history's first call). */
export function describe(op: Operation, origin = 0): string {
  const call = op.call;
  const condition = call.type !== 'get' && call.expect !== undefined ? ` if it still holds ${slotKey(call.expect)}` : '';
  const what = call.type === 'get' ? 'get' : call.type === 'set' ? `set ${canonicalJson(call.value)}${condition}` : `delete${condition}`;
  const outcome = op.outcome;
  const result = outcome.status === 'ok' ? (call.type === 'get' ? `saw ${outcome.seen === undefined ? '?' : slotKey(outcome.seen)}` : 'ok') : outcome.status + (op.code === undefined ? '' : ` (${op.code})`);
  const at = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms - origin).toFixed(3)} ms`);
  return `${op.label ?? 'op'}: ${what} → ${result} [${at(op.invokeMs)} .. ${at(op.returnMs)}]`;
}
