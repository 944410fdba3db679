// A small checker for what the sidecar sends (hello, results, watch pushes,
// errors), with the TypeScript types inferred from it. The client checks every
// message with it; it has no dependencies, so the client library loads without
// zod (zod costs ~80 ms and ~16 MiB to import; see docs/decisions.md, "Client").
// Requests and config schemas, which the sidecar parses, stay zod.

/** A checked shape: `check` returns the value typed, or throws a ShapeError naming where it failed. */
export interface Shape<T> {
  check(value: unknown, at?: string): T;
  /** zod-style form for tests and callers that branch on the outcome. */
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: ShapeError };
  parse(value: unknown): T;
}

/** The type a shape checks for. */
export type Infer<S> = S extends Shape<infer T> ? T : never;

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

function shape<T>(check: (value: unknown, at: string) => T): Shape<T> {
  return {
    check: (value, at = '(message)') => check(value, at),
    parse: (value) => check(value, '(message)'),
    safeParse(value) {
      try {
        return { success: true, data: check(value, '(message)') };
      } catch (error) {
        if (error instanceof ShapeError) return { success: false, error };
        throw error;
      }
    },
  };
}

function fail(at: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new ShapeError(`${at}: expected ${expected}, got ${got}`);
}

export const string: Shape<string> = shape((v, at) => (typeof v === 'string' ? v : fail(at, 'a string', v)));
export const boolean: Shape<boolean> = shape((v, at) => (typeof v === 'boolean' ? v : fail(at, 'a boolean', v)));
export const number: Shape<number> = shape((v, at) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(at, 'a number', v)));
export const integer: Shape<number> = shape((v, at) => (Number.isSafeInteger(v) ? (v as number) : fail(at, 'an integer', v)));
/** Revisions, ids, counts. */
export const count: Shape<number> = shape((v, at) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(at, 'a non-negative integer', v)));
/** Values: the codec has already proved them JSON-compatible and bounded; walking them again would cost for nothing. */
export const unknown: Shape<unknown> = shape((v) => v);

export function literal<const L extends string | number | boolean>(expected: L): Shape<L> {
  return shape((v, at) => (v === expected ? expected : fail(at, JSON.stringify(expected), v)));
}

export interface EnumShape<L extends string> extends Shape<L> {
  readonly options: readonly L[];
}

export function oneOf<const L extends string>(options: readonly L[]): EnumShape<L> {
  const set = new Set<unknown>(options);
  return { ...shape((v, at) => (set.has(v) ? (v as L) : fail(at, `one of ${options.join(', ')}`, v))), options };
}

export function nullable<T>(inner: Shape<T>): Shape<T | null> {
  return shape((v, at) => (v === null ? null : inner.check(v, at)));
}

export function array<T>(element: Shape<T>): Shape<T[]> {
  return shape((v, at) => {
    if (!Array.isArray(v)) fail(at, 'an array', v);
    for (let i = 0; i < v.length; i++) element.check(v[i], `${at}.${i}`);
    return v as T[];
  });
}

export function record<T>(values: Shape<T>): Shape<Record<string, T>> {
  return shape((v, at) => {
    if (!isObject(v)) fail(at, 'an object', v);
    for (const key of Object.keys(v)) values.check(v[key], `${at}.${key}`);
    return v as Record<string, T>;
  });
}

/** Marks an object field as optional (absent or undefined). */
export interface Optional<T> {
  readonly optional: Shape<T>;
}
export function optional<T>(inner: Shape<T>): Optional<T> {
  return { optional: inner };
}

type Field = Shape<unknown> | Optional<unknown>;
type Fields = Record<string, Field>;
type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K] extends Shape<unknown> ? K : never }[keyof F];
type OptionalKeys<F extends Fields> = Exclude<keyof F, RequiredKeys<F>>;
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<F extends Fields> = Flatten<
  { [K in RequiredKeys<F>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: F[K] extends Optional<infer T> ? T : never }
>;

export interface ObjectShape<F extends Fields, T = ObjectOf<F>> extends Shape<T> {
  readonly shape: F;
  readonly open: boolean;
}

/**
 * An object with exactly these fields (`open`: more keys allowed and kept).
 * Unknown keys are refused by default: the two sides ship together, and a
 * field nobody expects is a bug to see, not to drop.
 */
export function object<const F extends Fields>(fields: F): ObjectShape<F>;
export function object<const F extends Fields>(fields: F, options: { open: true }): ObjectShape<F, ObjectOf<F> & Record<string, unknown>>;
export function object<const F extends Fields>(fields: F, options: { open?: boolean } = {}): ObjectShape<F> {
  const entries = Object.entries(fields).map(([key, field]) => ({
    key,
    check: 'optional' in field ? field.optional : field,
    required: !('optional' in field),
  }));
  return {
    ...shape((v, at) => {
      if (!isObject(v)) fail(at, 'an object', v);
      for (const { key, check, required } of entries) {
        const value = v[key];
        if (value === undefined) {
          if (required) throw new ShapeError(`${at}.${key}: missing`);
          continue;
        }
        check.check(value, `${at}.${key}`);
      }
      if (options.open !== true) {
        for (const key of Object.keys(v)) if (!Object.hasOwn(fields, key)) throw new ShapeError(`${at}.${key}: unexpected field`);
      }
      return v as ObjectOf<F>;
    }),
    shape: fields,
    open: options.open === true,
  };
}

/** The object shape with more fields (open if it was). */
export function extend<F extends Fields, T, const G extends Fields>(base: ObjectShape<F, T>, fields: G): ObjectShape<F & G, T & ObjectOf<G>> {
  const merged = { ...base.shape, ...fields };
  return (base.open ? object(merged, { open: true }) : object(merged)) as unknown as ObjectShape<F & G, T & ObjectOf<G>>;
}

/** One of several shapes: the first that fits (errors name the last one tried). */
export function union<T extends Shape<unknown>[]>(...options: T): Shape<Infer<T[number]>> {
  return shape((v, at) => {
    let last: unknown;
    for (const option of options) {
      try {
        return option.check(v, at) as Infer<T[number]>;
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        last = error;
      }
    }
    throw last;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
