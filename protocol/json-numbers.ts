// Which numbers a document may hold: finite doubles within ±(2^53−1), the
// range RFC 7493 (I-JSON) calls interoperable. Beyond it a double no longer
// holds every integer, so a number there has most likely been rounded already
// (JSON.parse reads 12345678901234567890 as 12345678901234567000) and a reader
// in another language would see a different value: such numbers belong in
// strings. The wire (msgpack-check.ts) and the file (exact-json.ts) apply the same rule.

export const MAX_EXACT_NUMBER = Number.MAX_SAFE_INTEGER;

/** Why `n` cannot be held in a document, or undefined when it can. */
export function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return `number ${n} is not finite (NaN and Infinity are not JSON)`;
  if (Math.abs(n) > MAX_EXACT_NUMBER) return `number ${n} is ${OUTSIDE_RANGE}`;
  return undefined;
}

/** The explanation shared by every "too large" refusal. */
export const OUTSIDE_RANGE = `outside the safe integer range ±${MAX_EXACT_NUMBER} (2^53−1), where a double no longer holds every integer`;
