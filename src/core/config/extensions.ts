/**
 * vision-garden's own config fields ("extensions"): knobs Model Garden expresses only by editing a
 * spec table in code (e.g. a shallower ViT for a test), added to our schemas under a documented
 * name. A config that sets one away from its default has no Model Garden equivalent, so
 * {@link modelGardenYaml} refuses it instead of writing a YAML that Model Garden would read as
 * another model.
 */
import { configToYaml } from './load.js';

interface Extension {
  /** `<section>.<field>`, matched at any depth (e.g. `vit.spec_from_config`). */
  readonly key: string;
  readonly defaultValue: unknown;
  readonly doc: string;
}

const EXTENSIONS = new Map<string, Extension>();

/** Declares an extension field; called by the module that defines the schema holding it. */
export function registerConfigExtension(key: string, defaultValue: unknown, doc: string): void {
  if (!/^[\w]+\.[\w]+$/.test(key))
    throw new Error(`config extension key '${key}' must be 'section.field'`);
  EXTENSIONS.set(key, { key, defaultValue, doc });
}

/** The registered extensions (for documentation and `config --help` style listings). */
export function configExtensions(): readonly Extension[] {
  return [...EXTENSIONS.values()];
}

/** Full paths of the extension fields that `config` sets away from their defaults. */
export function extensionsInUse(config: object): string[] {
  const found: string[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      const ext = path.length ? EXTENSIONS.get(`${path[path.length - 1]}.${k}`) : undefined;
      if (ext && JSON.stringify(v) !== JSON.stringify(ext.defaultValue)) {
        found.push([...path, k].join('.'));
      }
      walk(v, [...path, k]);
    }
  };
  walk(config, []);
  return found;
}

/** A copy of `node` without the extension fields (Model Garden's strict parser rejects them). */
function withoutExtensions(node: unknown, parent: string | null): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (Array.isArray(node)) return node.map((v) => withoutExtensions(v, null));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (parent !== null && EXTENSIONS.has(`${parent}.${k}`)) continue;
    out[k] = withoutExtensions(v, k);
  }
  return out;
}

/**
 * The config as a Model Garden YAML (our field names are Model Garden's; extension fields left
 * out). Throws, naming the fields, when a vision-garden extension is in use.
 */
export function modelGardenYaml(config: object): string {
  const used = extensionsInUse(config);
  if (used.length) {
    throw new Error(
      `cannot export to Model Garden YAML: ${used.join(', ')} ${used.length > 1 ? 'are vision-garden extensions' : 'is a vision-garden extension'} with no Model Garden equivalent`,
    );
  }
  return configToYaml(withoutExtensions(config, null) as object);
}
