// Deep merge of policy overlays: tables merge key by key; arrays (of tables too) and scalars of a later file replace.

export type PlainObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is PlainObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A deep copy of plain data (objects, arrays, scalars). */
export function cloneData<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneData(x)) as T;
  if (isPlainObject(v)) {
    const out: PlainObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneData(x);
    return out as T;
  }
  return v;
}

/** Returns a new object: `base` with `overlay` laid over it. Neither input is modified. */
export function deepMerge(base: PlainObject, overlay: PlainObject): PlainObject {
  const out: PlainObject = cloneData(base);
  for (const [k, v] of Object.entries(overlay)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : cloneData(v);
  }
  return out;
}

/** Merges every layer in order (first = lowest precedence). */
export function mergeAll(layers: readonly PlainObject[]): PlainObject {
  return layers.reduce<PlainObject>((acc, layer) => deepMerge(acc, layer), {});
}

/** The value at `segs`, or undefined. Array indices are numbers or numeric strings. */
export function getPath(root: unknown, segs: readonly (string | number)[]): unknown {
  let cur: unknown = root;
  for (const s of segs) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, String(s))) cur = cur[String(s)];
    else return undefined;
  }
  return cur;
}

export function hasPath(root: unknown, segs: readonly (string | number)[]): boolean {
  return getPath(root, segs) !== undefined;
}

/** Deep-freezes plain data in place and returns it. */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}
