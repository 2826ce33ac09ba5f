// Lookups the code knows succeed, and membership tests that narrow, without casts. With
// noUncheckedIndexedAccess every `items[i]` is `T | undefined`; where the index comes from the
// list's own bounds or from a structure built beside it, itemAt says so once and checks it,
// instead of a cast that would hide a broken invariant. Typed arrays (manifests, dedup records,
// hot loops) cannot hold undefined: their reads use `!` with an index derived from the array's
// length, and no call per element.

/** The element at `index`; a missing one is a bug, reported here rather than as a later TypeError. */
export function itemAt<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`no element ${index} of ${items.length}`);
  return item;
}

/** The last element of a list that is known not to be empty. */
export function lastOf<T>(items: readonly T[]): T {
  return itemAt(items, items.length - 1);
}

/** The value of a key the map is known to hold. */
export function valueFor<K, V>(map: ReadonlyMap<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new RangeError(`no entry for ${String(key)}`);
  return value;
}

/** Whether `value` is one of `values` (a list of literals), narrowing it to their type. */
export function isOneOf<const T>(values: readonly T[], value: unknown): value is T {
  return values.some((candidate) => candidate === value);
}
