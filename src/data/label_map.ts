/**
 * Label maps: class id -> class name, read from
 *   - pbtxt, the TF Object Detection `StringIntLabelMap` text format:
 *       item { id: 1 name: 'person' display_name: "Person" }
 *   - CSV: `id,name[,display_name]` per line (a first line `id,name...` is a header);
 *   - JSON: `{"1": "person", ...}`, `[{"id": 1, "name": "person"}, ...]` (also a COCO
 *     `{"categories": [...]}` file), or a list of names `["cat", "dog"]` (ids 0, 1, ...).
 */
import { writeFileAtomic } from '../core/atomic_write.js';
import { extName, readTextFile } from '../core/host.js';

export interface LabelMapItem {
  id: number;
  name: string;
  displayName?: string;
}

/** Items by id. */
export type LabelMap = Map<number, LabelMapItem>;
export type LabelMapFormat = 'pbtxt' | 'csv' | 'json';

export class LabelMapError extends Error {
  override name = 'LabelMapError';
}

function addItem(map: LabelMap, item: LabelMapItem, where: string): void {
  if (!Number.isSafeInteger(item.id)) {
    throw new LabelMapError(`${where}: id must be an integer, got ${String(item.id)}`);
  }
  if (typeof item.name !== 'string' || item.name === '') {
    throw new LabelMapError(`${where}: item ${item.id} has no name`);
  }
  if (map.has(item.id)) {
    throw new LabelMapError(
      `${where}: id ${item.id} appears twice ('${map.get(item.id)!.name}' and '${item.name}')`,
    );
  }
  map.set(item.id, item);
}

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; line: number };

function tokenizePbtxt(text: string, where: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ('{}:;,'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      let s = '';
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\n') throw new LabelMapError(`${where}:${line}: unterminated string`);
        if (text[i] === '\\' && i + 1 < text.length) {
          const e = text[i + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
        } else {
          s += text[i++];
        }
      }
      if (i >= text.length) throw new LabelMapError(`${where}:${line}: unterminated string`);
      i++;
      tokens.push({ kind: 'string', text: s, line });
    } else {
      const m = /^[A-Za-z0-9_.+-]+/.exec(text.slice(i));
      if (!m) throw new LabelMapError(`${where}:${line}: unexpected character '${c}'`);
      tokens.push({ kind: /^[+-]?[0-9]/.test(m[0]) ? 'number' : 'ident', text: m[0], line });
      i += m[0].length;
    }
  }
  return tokens;
}

/** Parses the `StringIntLabelMap` text format. Unknown fields (keypoints, ...) are skipped. */
export function parsePbtxtLabelMap(text: string, where = 'label map'): LabelMap {
  const tokens = tokenizePbtxt(text, where);
  const map: LabelMap = new Map();
  let pos = 0;
  const peek = () => tokens[pos];
  const expect = (t: string) => {
    const tok = tokens[pos];
    if (!tok || tok.text !== t) {
      throw new LabelMapError(
        `${where}:${tok?.line ?? 'end'}: expected '${t}', got ${tok ? `'${tok.text}'` : 'end of file'}`,
      );
    }
    pos++;
  };
  /** Skips a value or a `{...}` block after a field name. */
  const skipValue = () => {
    if (peek()?.text === ':') pos++;
    if (peek()?.text === '{') {
      let depth = 0;
      do {
        const t = tokens[pos++];
        if (!t) throw new LabelMapError(`${where}: unbalanced braces`);
        if (t.text === '{') depth++;
        else if (t.text === '}') depth--;
      } while (depth > 0);
    } else {
      pos++;
    }
  };
  while (pos < tokens.length) {
    const head = tokens[pos++];
    if (head.text !== 'item') {
      throw new LabelMapError(`${where}:${head.line}: expected 'item', got '${head.text}'`);
    }
    if (peek()?.text === ':') pos++;
    expect('{');
    const fields: Partial<LabelMapItem> = {};
    const line = head.line;
    while (peek() && peek().text !== '}') {
      const name = tokens[pos++];
      if (name.kind !== 'ident')
        throw new LabelMapError(`${where}:${name.line}: expected a field name`);
      if (name.text === 'id' || name.text === 'name' || name.text === 'display_name') {
        expect(':');
        const v = tokens[pos++];
        if (!v) throw new LabelMapError(`${where}: file ends after '${name.text}:'`);
        if (name.text === 'id') {
          if (v.kind !== 'number') {
            throw new LabelMapError(`${where}:${v.line}: id must be a number, got '${v.text}'`);
          }
          fields.id = Number(v.text);
        } else if (name.text === 'name') {
          fields.name = v.text;
        } else {
          fields.displayName = v.text;
        }
      } else {
        skipValue();
      }
      if (peek()?.text === ';' || peek()?.text === ',') pos++;
    }
    expect('}');
    if (fields.id === undefined) throw new LabelMapError(`${where}:${line}: item has no id`);
    if (fields.name === undefined && fields.displayName !== undefined)
      fields.name = fields.displayName;
    addItem(map, fields as LabelMapItem, `${where}:${line}`);
  }
  return map;
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** Parses `id,name[,display_name]` lines; blank lines and a header line are skipped. */
export function parseCsvLabelMap(text: string, where = 'label map'): LabelMap {
  const map: LabelMap = new Map();
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    const cols = splitCsvLine(raw);
    if (i === 0 && !/^[+-]?\d+$/.test(cols[0])) return; // header
    if (cols.length < 2)
      throw new LabelMapError(`${where}:${i + 1}: expected 'id,name', got '${raw}'`);
    if (!/^[+-]?\d+$/.test(cols[0])) {
      throw new LabelMapError(`${where}:${i + 1}: id must be an integer, got '${cols[0]}'`);
    }
    addItem(
      map,
      { id: Number(cols[0]), name: cols[1], ...(cols[2] ? { displayName: cols[2] } : {}) },
      `${where}:${i + 1}`,
    );
  });
  return map;
}

/** Parses a JSON label map (see the module comment for the accepted shapes). */
export function parseJsonLabelMap(text: string, where = 'label map'): LabelMap {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LabelMapError(`${where}: invalid JSON (${(err as Error).message})`);
  }
  if (data && typeof data === 'object' && !Array.isArray(data) && 'categories' in data) {
    data = (data as { categories: unknown }).categories;
  }
  const map: LabelMap = new Map();
  if (Array.isArray(data)) {
    data.forEach((entry, i) => {
      if (typeof entry === 'string') addItem(map, { id: i, name: entry }, `${where}[${i}]`);
      else if (entry && typeof entry === 'object') {
        const e = entry as { id?: unknown; name?: unknown; display_name?: unknown };
        addItem(
          map,
          {
            id: e.id as number,
            name: e.name as string,
            ...(typeof e.display_name === 'string' ? { displayName: e.display_name } : {}),
          },
          `${where}[${i}]`,
        );
      } else throw new LabelMapError(`${where}[${i}]: expected a name or {id, name}`);
    });
    return map;
  }
  if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) {
      if (!/^[+-]?\d+$/.test(k))
        throw new LabelMapError(`${where}: key '${k}' is not an integer id`);
      if (typeof v !== 'string') throw new LabelMapError(`${where}: value of '${k}' is not a name`);
      addItem(map, { id: Number(k), name: v }, where);
    }
    return map;
  }
  throw new LabelMapError(`${where}: expected an object or a list`);
}

/** Parses a label map in the given format. */
export function parseLabelMap(text: string, format: LabelMapFormat, where = 'label map'): LabelMap {
  if (format === 'pbtxt') return parsePbtxtLabelMap(text, where);
  if (format === 'csv') return parseCsvLabelMap(text, where);
  if (format === 'json') return parseJsonLabelMap(text, where);
  throw new LabelMapError(`${where}: unknown label map format '${String(format)}'`);
}

/** The format implied by a file name: .pbtxt/.txt/.pbtext, .csv, .json. */
export function labelMapFormatOf(path: string): LabelMapFormat {
  const ext = extName(path).toLowerCase();
  if (ext === '.pbtxt' || ext === '.pbtext' || ext === '.txt') return 'pbtxt';
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  throw new LabelMapError(
    `${path}: cannot tell the label map format from '${ext}' (use .pbtxt, .csv or .json)`,
  );
}

/** Reads a label map file; the format comes from the extension unless given. */
export async function readLabelMap(path: string, format?: LabelMapFormat): Promise<LabelMap> {
  const text = await readTextFile(path);
  return parseLabelMap(text, format ?? labelMapFormatOf(path), path);
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The pbtxt text of a label map, items in id order. */
export function formatPbtxtLabelMap(map: LabelMap): string {
  return [...map.values()]
    .sort((a, b) => a.id - b.id)
    .map(
      (it) =>
        `item {\n  id: ${it.id}\n  name: ${quote(it.name)}\n${it.displayName !== undefined ? `  display_name: ${quote(it.displayName)}\n` : ''}}\n`,
    )
    .join('');
}

/** Writes a label map as pbtxt. */
export async function writeLabelMap(path: string, map: LabelMap): Promise<void> {
  const text = formatPbtxtLabelMap(map);
  await writeFileAtomic(path, async (fh) => {
    await fh.writeFile(text);
  });
}

/** Class name of `id`, or undefined. */
export function className(map: LabelMap, id: number): string | undefined {
  return map.get(id)?.name;
}

/** A label map from names, ids 0, 1, ... (or from `firstId`). */
export function labelMapFromNames(names: readonly string[], firstId = 0): LabelMap {
  const map: LabelMap = new Map();
  names.forEach((name, i) => addItem(map, { id: firstId + i, name }, 'names'));
  return map;
}
