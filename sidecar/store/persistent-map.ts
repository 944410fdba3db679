// An immutable string-keyed map whose `with`/`without` cost O(√n) amortised:
// each version stores only its own change and points at the version it came
// from; once the chain is √n versions long (16 at least) it is flattened into
// one Map, so neither a lookup's walk nor the flattening's share of a change
// grows past √n. The revision tree uses it so a write under an object with
// thousands of tracked keys does not copy them all.
const MIN_CHAIN = 16;
const DELETED = Symbol('deleted');

export class PersistentMap<V> implements Iterable<[string, V]> {
  private constructor(
    private readonly own: ReadonlyMap<string, V | typeof DELETED>,
    private readonly parent: PersistentMap<V> | undefined,
    private readonly depth: number,
    /** How long the chain may grow before it is flattened: √(entries when last flattened). */
    private readonly maxChain: number,
  ) {}

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(new Map(), undefined, 0, MIN_CHAIN);
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
    if (this.depth < this.maxChain) return new PersistentMap(new Map([[key, value]]), this, this.depth + 1, this.maxChain);
    const flat = this.flatten() as Map<string, V | typeof DELETED>;
    if (value === DELETED) flat.delete(key);
    else flat.set(key, value);
    return new PersistentMap(flat, undefined, 0, Math.max(MIN_CHAIN, Math.floor(Math.sqrt(flat.size))));
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
