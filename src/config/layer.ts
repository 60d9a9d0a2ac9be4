// A layer is one source of configuration (defaults, file, environment, command
// line) as a nested partial object, with the name a person used for each value
// so that an error can point back at what they typed.

export type Tree = { [key: string]: unknown };

export interface Layer {
  /** Where the layer came from: "built-in defaults", a file path, "environment"… */
  readonly source: string;
  readonly values: Tree;
  /** Dotted path → the variable or flag that set it. */
  readonly labels?: ReadonlyMap<string, string>;
}

export function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    node = isTree(child) ? child : (node[key] = {});
  }
  node[keys[keys.length - 1]!] = value;
}

/** Objects merge key by key; anything else (arrays included) in `over` replaces. */
export function merge(under: Tree, over: Tree): Tree {
  const out: Tree = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const base = out[key];
    out[key] = isTree(base) && isTree(value) ? merge(base, value) : value;
  }
  return out;
}

/**
 * Which layer, and which flag, variable or file in it, gave the value at
 * `path`: the layer that defines most of the path, the later on a tie (layers
 * are in increasing precedence). A missing value is blamed on the layer that
 * gave the object it is missing from.
 */
export function sourceOf(layers: readonly Layer[], path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'configuration';
  let best = { depth: 0, source: 'built-in defaults' };
  for (const layer of layers) {
    let node: unknown = layer.values;
    let source = layer.source;
    let depth = 0;
    while (depth < path.length && (isTree(node) || Array.isArray(node))) {
      node = (node as Record<PropertyKey, unknown>)[path[depth]!];
      if (node === undefined) break;
      depth++;
      source = layer.labels?.get(path.slice(0, depth).map(String).join('.')) ?? source;
    }
    if (depth > 0 && depth >= best.depth) best = { depth, source };
  }
  return best.source;
}
