// The linearizability checker on hand-made histories of one register (good
// ones, each kind of violation, writes of unknown outcome) and on random
// histories produced by a sequential register with overlapping intervals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkHistory, type Operation, type Slot } from '../helpers/linearizability.js';

const absent: Slot = { exists: false };
const holds = (value: unknown): Slot => ({ exists: true, value });

/** set VALUE over [from, to] (to undefined: never returned). */
function set(label: string, value: unknown, from: number, to: number | undefined, status: 'ok' | 'failed' | 'unknown' = 'ok', expect?: Slot): Operation {
  return { key: 'k', label, call: { type: 'set', value, ...(expect && { expect }) }, outcome: { status }, invokeMs: from, ...(to !== undefined && { returnMs: to }) };
}
function del(label: string, from: number, to: number | undefined, status: 'ok' | 'failed' | 'unknown' = 'ok'): Operation {
  return { key: 'k', label, call: { type: 'delete' }, outcome: { status }, invokeMs: from, ...(to !== undefined && { returnMs: to }) };
}
function cas(label: string, expect: Slot, value: unknown, from: number, to: number | undefined, status: 'ok' | 'conflict' | 'unknown'): Operation {
  return { key: 'k', label, call: { type: 'set', value, expect }, outcome: { status }, invokeMs: from, ...(to !== undefined && { returnMs: to }) };
}
function get(label: string, seen: Slot, from: number, to: number): Operation {
  return { key: 'k', label, call: { type: 'get' }, outcome: { status: 'ok', seen }, invokeMs: from, returnMs: to };
}

function accepts(history: Operation[], options = {}) {
  const verdict = checkHistory(history, options);
  assert.equal(verdict.result, 'linearizable', verdict.explanation);
}
function rejects(history: Operation[], options = {}) {
  const verdict = checkHistory(history, options);
  assert.equal(verdict.result, 'not-linearizable');
  return verdict.explanation;
}

test('overlapping writes and reads that some order explains are accepted', () => {
  // b then a: the first get sees b while a's write is still open, the second sees a.
  accepts([set('w1', 'a', 0, 10), set('w2', 'b', 2, 12), get('r1', holds('b'), 3, 4), get('r2', holds('a'), 5, 6), get('r3', holds('a'), 13, 14)]);
  // A read concurrent with a write may see either side of it.
  accepts([set('w1', 'a', 0, 1), set('w2', 'b', 2, 8), get('r1', holds('a'), 3, 4), get('r2', holds('b'), 5, 6)]);
  // Reads of a key that was never written see it absent; a delete makes it absent again.
  accepts([get('r0', absent, 0, 1), set('w1', 'a', 2, 3), del('d1', 4, 5), get('r1', absent, 6, 7)]);
  // Touching intervals count as overlapping.
  accepts([set('w1', 'a', 0, 5), get('r1', absent, 5, 6)]);
});

test('a stale read after a completed write is rejected', () => {
  const explanation = rejects([set('w1', 'a', 0, 1), set('w2', 'b', 2, 3), get('r1', holds('a'), 4, 5)]);
  assert.match(explanation, /key "k"/);
  assert.match(explanation, /r1: get → saw value "a"/);
});

test('a read of a value never written is rejected', () => {
  rejects([set('w1', 'a', 0, 1), get('r1', holds('zzz'), 2, 3)]);
  // Nor one whose write definitely failed.
  rejects([set('w1', 'a', 0, 1, 'failed'), get('r1', holds('a'), 2, 3)]);
});

test('a read that sees a write later reads do not see is rejected', () => {
  const explanation = rejects([set('w1', 'b', 0, 10), get('r1', holds('b'), 1, 2), get('r2', absent, 3, 4)]);
  // The explanation names the operation that could not be placed and what was open around it.
  assert.match(explanation, /r2: get → saw absent/);
  assert.match(explanation, /w1|r1/);
});

test('a write of unknown outcome may have happened, at any time after its call', () => {
  accepts([set('w1', 'a', 0, undefined, 'unknown'), get('r1', holds('a'), 50, 51), get('r2', holds('a'), 52, 53)]);
  // ... long after: its return counts as infinitely late.
  accepts([set('w1', 'a', 0, undefined, 'unknown'), get('r1', absent, 50, 51), get('r2', holds('a'), 52, 53)]);
  // But not before its call.
  rejects([get('r1', holds('a'), 0, 1), set('w1', 'a', 2, undefined, 'unknown')]);
  // And once seen, it stays (no flip-flop).
  rejects([set('w1', 'a', 0, undefined, 'unknown'), get('r1', holds('a'), 5, 6), get('r2', absent, 7, 8)]);
});

test('a write of unknown outcome may not have happened at all', () => {
  accepts([set('w1', 'a', 0, 1), set('w2', 'b', 2, undefined, 'unknown'), get('r1', holds('a'), 10, 11), get('r2', holds('a'), 20, 21)]);
  accepts([set('w1', 'a', 0, 1), del('d1', 2, undefined, 'unknown'), get('r1', holds('a'), 10, 11)]);
  // Many unseen ones are no harder than one (they are set aside, not searched).
  const unseen = Array.from({ length: 200 }, (_, i) => set(`u${i}`, `never-${i}`, 2 + i, undefined, 'unknown'));
  accepts([set('w1', 'a', 0, 1), ...unseen, get('r1', holds('a'), 300, 301)]);
});

test('an unknown delete seen and then contradicted is rejected', () => {
  rejects([set('w1', 'a', 0, 1), del('d1', 2, undefined, 'unknown'), get('r1', absent, 3, 4), get('r2', holds('a'), 5, 6)]);
});

test('conditional writes apply only to the value read', () => {
  accepts([set('w1', 'a', 0, 1), cas('c1', holds('a'), 'b', 2, 3, 'ok'), get('r1', holds('b'), 4, 5)]);
  accepts([cas('c1', absent, 'a', 0, 1, 'ok'), cas('c2', absent, 'b', 2, 3, 'conflict'), get('r1', holds('a'), 4, 5)]);
  // A successful CAS on a value the key no longer held: a lost update.
  const explanation = rejects([set('w1', 'a', 0, 1), set('w2', 'x', 2, 3), cas('c1', holds('a'), 'b', 4, 5, 'ok')]);
  assert.match(explanation, /c1: set "b" if it still holds value "a" → ok/);
  // A conflict while the key still held the expected value: rejected when conflicts are checked...
  const spurious = [set('w1', 'a', 0, 1), cas('c1', holds('a'), 'b', 2, 3, 'conflict'), get('r1', holds('a'), 4, 5)];
  rejects(spurious);
  // ...and accepted where a conflict only means "not applied".
  accepts(spurious, { conflicts: 'ignored' });
  // An unknown CAS whose condition held may have applied; one whose condition failed cannot have.
  accepts([set('w1', 'a', 0, 1), cas('c1', holds('a'), 'b', 2, undefined, 'unknown'), get('r1', holds('b'), 4, 5)]);
  rejects([set('w1', 'x', 0, 1), cas('c1', holds('a'), 'b', 2, undefined, 'unknown'), get('r1', holds('b'), 4, 5)]);
});

test('keys are independent, and each failing key is named', () => {
  const onKey = (key: string, op: Operation): Operation => ({ ...op, key });
  const verdict = checkHistory([
    onKey('good', set('w1', 'a', 0, 1)),
    onKey('good', get('r1', holds('a'), 2, 3)),
    onKey('bad', set('w2', 'a', 0, 1)),
    onKey('bad', get('r2', absent, 2, 3)),
  ]);
  assert.equal(verdict.result, 'not-linearizable');
  assert.deepEqual(
    verdict.keys.map((k) => [k.key, k.result]),
    [
      ['bad', 'not-linearizable'],
      ['good', 'linearizable'],
    ],
  );
  assert.match(verdict.explanation, /key "bad"/);
  assert.doesNotMatch(verdict.explanation, /key "good"/);
});

test('clock slack widens intervals: a read just after a write by another clock may precede it', () => {
  const history = [set('w1', 'a', 0, 10), get('r1', absent, 10.5, 11)];
  rejects(history);
  accepts(history, { clockSlackMs: 1 });
});

test('a search past its budget answers unknown instead of running on', () => {
  // Many concurrent writes and one impossible read: proving it impossible means trying every order.
  const writes = Array.from({ length: 40 }, (_, i) => set(`w${i}`, `v${i}`, 0, 100));
  const reads = Array.from({ length: 40 }, (_, i) => get(`r${i}`, holds(`v${i}`), 1 + i * 2, 2 + i * 2));
  const verdict = checkHistory([...writes, ...reads, get('last', holds('never'), 200, 201)], { maxSteps: 10_000 });
  assert.equal(verdict.result, 'unknown');
  assert.match(verdict.explanation, /budget/);
});

// Random histories from a sequential register: every operation takes effect at its own instant,
// inside an interval stretched at random on both sides, so they overlap in every way.
const plannedOp = fc.record({
  kind: fc.constantFrom('get', 'get', 'set', 'set', 'delete', 'cas', 'casStale'),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'failed', 'unknownApplied', 'unknownNot'),
  before: fc.double({ min: 0, max: 30, noNaN: true }),
  after: fc.double({ min: 0, max: 30, noNaN: true }),
  key: fc.constantFrom('a', 'b'),
});

type PlannedOp = typeof plannedOp extends fc.Arbitrary<infer T> ? T : never;

function registerHistory(plan: PlannedOp[]): Operation[] {
  const state = new Map<string, Slot>();
  const seenValues: Slot[] = [absent];
  return plan.map((p, i) => {
    const at = i * 3;
    const current = state.get(p.key) ?? absent;
    const base = { key: p.key, label: `op${i}`, invokeMs: at - p.before, returnMs: at + p.after };
    if (p.kind === 'get') return { ...base, call: { type: 'get' }, outcome: { status: 'ok', seen: current } } satisfies Operation;
    const value = `v${i}`;
    const expect = p.kind === 'cas' ? current : p.kind === 'casStale' ? seenValues[i % seenValues.length]! : undefined;
    const call = p.kind === 'delete' ? { type: 'delete' as const } : { type: 'set' as const, value, ...(expect && { expect }) };
    const conditionHolds = expect === undefined || JSON.stringify(expect) === JSON.stringify(current);
    const applied = conditionHolds && (p.outcome === 'ok' || p.outcome === 'unknownApplied');
    if (applied) state.set(p.key, p.kind === 'delete' ? absent : holds(value));
    if (applied && p.kind !== 'delete') seenValues.push(holds(value));
    if (p.outcome === 'unknownApplied' || p.outcome === 'unknownNot') {
      const { returnMs: _never, ...open } = base;
      return { ...open, call, outcome: { status: 'unknown' } } satisfies Operation;
    }
    if (p.outcome === 'failed') return { ...base, call, outcome: { status: 'failed' } } satisfies Operation;
    return { ...base, call, outcome: { status: conditionHolds ? 'ok' : 'conflict' } } satisfies Operation;
  });
}

test('every history of a sequential register with overlapping intervals is accepted', () => {
  fc.assert(
    fc.property(fc.array(plannedOp, { minLength: 1, maxLength: 60 }), (plan) => {
      const verdict = checkHistory(registerHistory(plan), { maxSteps: 2_000_000 });
      assert.equal(verdict.result, 'linearizable', verdict.explanation);
    }),
    { numRuns: 300 },
  );
});

test('in a history without overlaps or unknown writes, any get changed to another value is rejected', () => {
  fc.assert(
    fc.property(fc.array(plannedOp, { minLength: 1, maxLength: 40 }), fc.nat(), (plan, pick) => {
      const sequential = plan.map((p): PlannedOp => ({ ...p, before: 0, after: 1, outcome: p.outcome === 'failed' ? 'failed' : 'ok' }));
      const history = registerHistory(sequential);
      const gets = history.filter((op) => op.call.type === 'get');
      fc.pre(gets.length > 0);
      const victim = gets[pick % gets.length]!;
      const saw = (victim.outcome as { seen: Slot }).seen;
      (victim.outcome as { seen: Slot }).seen = saw.exists ? absent : holds('never written');
      assert.equal(checkHistory(history).result, 'not-linearizable');
    }),
    { numRuns: 300 },
  );
});

/** The definition itself, for tiny histories: some order of the operations (unknown writes in it or not) respects real time and the register. */
function bruteForceLinearizable(history: Operation[], conflicts: 'checked' | 'ignored'): boolean {
  const ops = history.filter((op) => op.outcome.status !== 'failed' && !(op.outcome.status === 'conflict' && conflicts === 'ignored'));
  const same = (a: Slot, b: Slot) => JSON.stringify(a) === JSON.stringify(b);
  const states = new Map<string, Slot>();
  const search = (placed: Operation[], rest: Operation[]): boolean => {
    // Every op left must be placeable later; an unknown write may also be left out.
    if (rest.every((op) => op.outcome.status === 'unknown')) return true;
    for (const op of rest) {
      // Nothing left may have returned before this one was called.
      if (rest.some((other) => other !== op && (other.returnMs ?? Infinity) < op.invokeMs)) continue;
      const state = states.get(op.key) ?? absent;
      const call = op.call;
      let after: Slot | undefined;
      if (call.type === 'get') after = same((op.outcome as { seen: Slot }).seen, state) ? state : undefined;
      else if (op.outcome.status === 'conflict') after = call.expect !== undefined && !same(call.expect, state) ? state : undefined;
      else if (call.expect === undefined || same(call.expect, state)) after = call.type === 'set' ? holds(call.value) : absent;
      if (after === undefined) continue;
      states.set(op.key, after);
      const found = search([...placed, op], rest.filter((o) => o !== op));
      states.set(op.key, state);
      if (found) return true;
    }
    return false;
  };
  return search([], ops);
}

const tinyOp = fc.record({
  kind: fc.constantFrom('get', 'set', 'delete', 'cas'),
  value: fc.constantFrom('a', 'b'),
  expect: fc.constantFrom<Slot>(absent, holds('a'), holds('b')),
  seen: fc.constantFrom<Slot>(absent, absent, holds('a'), holds('b')),
  outcome: fc.constantFrom('ok', 'ok', 'ok', 'failed', 'conflict', 'unknown'),
  invokeMs: fc.integer({ min: 0, max: 10 }),
  lengthMs: fc.integer({ min: 0, max: 6 }),
});

test('on tiny random histories the checker agrees with a brute-force search of every order', () => {
  fc.assert(
    fc.property(fc.array(tinyOp, { minLength: 1, maxLength: 6 }), fc.constantFrom('checked' as const, 'ignored' as const), (plan, conflicts) => {
      const history = plan.map((p, i): Operation => {
        const base = { key: 'k', label: `op${i}`, invokeMs: p.invokeMs, returnMs: p.invokeMs + p.lengthMs };
        if (p.kind === 'get') return { ...base, call: { type: 'get' }, outcome: { status: 'ok', seen: p.seen } };
        const expect = p.kind === 'cas' ? p.expect : undefined;
        const call = p.kind === 'delete' ? { type: 'delete' as const, ...(expect && { expect }) } : { type: 'set' as const, value: p.value, ...(expect && { expect }) };
        const status = p.outcome === 'conflict' && expect === undefined ? 'ok' : p.outcome;
        if (status === 'unknown') return { key: 'k', label: base.label, invokeMs: base.invokeMs, call, outcome: { status } };
        return { ...base, call, outcome: { status } as Operation['outcome'] };
      });
      const expected = bruteForceLinearizable(history, conflicts) ? 'linearizable' : 'not-linearizable';
      assert.equal(checkHistory(history, { conflicts }).result, expected);
    }),
    { numRuns: 3000 },
  );
});
