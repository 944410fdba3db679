// An immutable string-keyed map whose `with`/`without` cost O(1) amortised:
// each version stores only its own change and points at the version it came
// from; every 16 versions the chain is flattened into one Map. The revision
// tree uses it so a write under an object with thousands of tracked keys does
// not copy them all.
const MAX_CHAIN = 16;
const DELETED = Symbol('deleted');

export class PersistentMap<V> implements Iterable<[string, V]> {
  private constructor(
    private readonly own: ReadonlyMap<string, V | typeof DELETED>,
    private readonly parent: PersistentMap<V> | undefined,
    private readonly depth: number,
  ) {}

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(new Map(), undefined, 0);
  }

  get(key: string): V | undefined {
    for (let map: PersistentMap<V> | undefined = this; map !== undefined; map = map.parent) {
      const found = map.own.get(key);
      if (found !== undefined) return found === DELETED ? undefined : found;
    }
    return undefined;
  }

  with(key: string, value: V): PersistentMap<V> {
    return this.derive(key, value);
  }

  without(key: string): PersistentMap<V> {
    return this.get(key) === undefined ? this : this.derive(key, DELETED);
  }

  *[Symbol.iterator](): IterableIterator<[string, V]> {
    for (const [key, value] of this.flatten()) yield [key, value];
  }

  private derive(key: string, value: V | typeof DELETED): PersistentMap<V> {
    if (this.depth < MAX_CHAIN) return new PersistentMap(new Map([[key, value]]), this, this.depth + 1);
    const flat = this.flatten() as Map<string, V | typeof DELETED>;
    if (value === DELETED) flat.delete(key);
    else flat.set(key, value);
    return new PersistentMap(flat, undefined, 0);
  }

  /** All live entries, oldest version first so newer values win. */
  private flatten(): Map<string, V> {
    const chain: PersistentMap<V>[] = [];
    for (let map: PersistentMap<V> | undefined = this; map !== undefined; map = map.parent) chain.push(map);
    const out = new Map<string, V>();
    for (let i = chain.length - 1; i >= 0; i--) {
      for (const [key, value] of chain[i]!.own) {
        if (value === DELETED) out.delete(key);
        else out.set(key, value);
      }
    }
    return out;
  }
}
