// Type-level paths for a config type T: `Path<T>` is every dot path into T
// ("server", "server.port", "dirs.0"), `Segments<T>` the same as segment
// arrays (for keys holding dots: ['plugins', 'a.b']), `ValueAt<T, P>` the type
// found at either. An untyped client (T = Record<string, unknown>) accepts any
// string and any string array.

type Primitive = string | number | boolean | null | undefined;
type Depth = [never, 0, 1, 2, 3, 4, 5, 6, 7, 8];

/** Every dot path into T, up to 8 levels deep. */
export type Path<T, D extends number = 8> = [D] extends [never]
  ? never
  : T extends Primitive
    ? never
    : T extends readonly (infer E)[]
      ? `${number}` | `${number}.${Path<E, Depth[D]>}`
      : string extends keyof T
        ? string
        : { [K in keyof T & string]: K | `${K}.${Path<NonNullable<T[K]>, Depth[D]>}` }[keyof T & string];

/** Every path into T as an array of segments, up to 8 levels deep. */
export type Segments<T, D extends number = 8> = [D] extends [never]
  ? never
  : T extends Primitive
    ? never
    : T extends readonly (infer E)[]
      ? [`${number}`] | [`${number}`, ...Segments<E, Depth[D]>]
      : string extends keyof T
        ? unknown extends T[string]
          ? string[] // untyped: any segments
          : [string] | [string, ...Segments<NonNullable<T[string]>, Depth[D]>] // a record: any key, then its values' paths
        : { [K in keyof T & string]: [K] | [K, ...Segments<NonNullable<T[K]>, Depth[D]>] }[keyof T & string];

/** The type at path P (dot string or segment array) in T. */
export type ValueAt<T, P> = P extends string ? ValueAtDots<T, P> : P extends readonly string[] ? ValueAtSegments<T, P> : never;

type ValueAtDots<T, P extends string> = P extends ''
  ? T
  : P extends `${infer Head}.${infer Rest}`
    ? ValueAtDots<Step<T, Head>, Rest>
    : Step<T, P>;

type ValueAtSegments<T, P extends readonly string[]> = P extends readonly [infer Head extends string, ...infer Rest extends readonly string[]]
  ? ValueAtSegments<Step<T, Head>, Rest>
  : string[] extends P
    ? unknown // a plain string[]: which path is unknown until run time
    : T;

type Step<T, K extends string> = unknown extends T
  ? unknown // untyped documents: anything below is unknown too
  : T extends readonly (infer E)[]
  ? K extends `${number}`
    ? E | undefined // an index may be past the end
    : never
  : string extends keyof NonNullable<T>
    ? NonNullable<T>[string] | undefined // a record: any key may be missing
    : K extends keyof NonNullable<T>
      ? NonNullable<T>[K]
      : never;

/** Path argument accepted by a client for T: typed dot paths, segment arrays, '' or [] for the whole document. */
export type PathArg<T> = '' | Path<T> | [] | Segments<T> | Readonly<Segments<T>>;
