/** Per-id typed arrays of the policies grow with the object table (Policy.reserve); contents are kept. */
type Typed = Uint8Array | Int32Array | Float64Array;

/** Returns `a` when it already holds `c` entries, else a copy of length `c` (new slots = `fill`). */
export function grow<T extends Typed>(a: T, c: number, fill = 0): T {
  if (c <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(c);
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}
