// Type-level dot paths for a config type T: `Path<T>` is every path into T
// ("server", "server.port", "dirs.0"), `ValueAt<T, P>` the type found there.
// An untyped client (T = Record<string, unknown>) accepts any string.

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

/** The type at dot path P in T. */
export type ValueAt<T, P extends string> = P extends ''
  ? T
  : P extends `${infer Head}.${infer Rest}`
    ? ValueAt<Step<T, Head>, Rest>
    : Step<T, P>;

type Step<T, K extends string> = unknown extends T
  ? unknown // untyped documents: anything below is unknown too
  : T extends readonly (infer E)[]
  ? K extends `${number}`
    ? E
    : never
  : K extends keyof NonNullable<T>
    ? NonNullable<T>[K]
    : string extends keyof NonNullable<T>
      ? unknown
      : never;

/** Path argument accepted by a client for T: typed dot paths, '' for the whole document. */
export type PathArg<T> = '' | Path<T>;
