/**
 * Deep merge of config trees: mappings merge key by key; lists, scalars and null replace.
 */

/** A parsed YAML/JSON mapping. */
export type ConfigTree = { [key: string]: unknown };

/** True for plain mappings (object literals, parsed YAML/JSON maps), false for lists and null. */
export function isPlainObject(value: unknown): value is ConfigTree {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Returns `base` overlaid with `overlay`, neither modified. Where both hold a mapping the
 * mappings are merged recursively; anywhere else the overlay's value replaces the base's
 * (a list replaces a list as a whole). Values are deep-copied.
 */
export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(overlay)) {
    const out: ConfigTree = {};
    for (const [k, v] of Object.entries(base)) setOwn(out, k, deepCopy(v));
    for (const [k, v] of Object.entries(overlay)) {
      setOwn(out, k, Object.hasOwn(base, k) ? deepMerge(base[k], v) : deepCopy(v));
    }
    return out;
  }
  return deepCopy(overlay);
}

/** Deep copy of a tree of mappings, lists and scalars. */
export function deepCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => deepCopy(v) as unknown) as T;
  if (isPlainObject(value)) {
    const out: ConfigTree = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, deepCopy(v));
    return out as T;
  }
  return value;
}

/**
 * Sets an own enumerable property, also for keys such as `__proto__` that plain assignment
 * would treat specially (so such a key in a file is reported as unknown, not obeyed).
 */
export function setOwn(target: ConfigTree, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
