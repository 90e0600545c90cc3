/**
 * The YAML side of configuration errors: parse with a line counter, then map a key path back to
 * the line and column it came from, so that every problem reads `<file>:<line>:<col> <path>: ...`
 * and an editor can jump to it.
 */
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, YAMLMap } from "yaml";
import { formatPath, type KeyPath, type Problem } from "./messages.js";

interface Located {
  offset?: number;
  line: string;
}

interface Child {
  key?: unknown;
  value: unknown;
}

function start(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/** Identity of a scalar key as yaml's own uniqueness check sees it: same type, same value. */
function keyId(key: unknown): string | undefined {
  return isScalar(key) ? `${typeof key.value}:${String(key.value)}` : undefined;
}

/** Per mapping, the first pair of each key: lookups stay O(1) however many keys a file has. */
const keyIndex = new WeakMap<YAMLMap, Map<string, Child>>();

function indexOf(map: YAMLMap): Map<string, Child> {
  let index = keyIndex.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      const key: unknown = pair.key;
      const name = isScalar(key) ? String(key.value) : undefined;
      if (name !== undefined && !index.has(name)) index.set(name, { key, value: pair.value });
    }
    keyIndex.set(map, index);
  }
  return index;
}

function childOf(node: unknown, key: PropertyKey): Child | undefined {
  if (isMap(node)) return indexOf(node).get(String(key));
  if (isSeq(node) && typeof key === "number") {
    const item: unknown = node.items[key];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

/**
 * Offsets of repeated keys, found in one pass. yaml's own check (option uniqueKeys) compares each
 * key with every earlier one, which made a file of 50,000 keys take minutes to load; this walk
 * uses no recursion either, so a deeply nested file cannot overflow the stack here.
 */
function duplicateKeyOffsets(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const id = keyId(pair.key);
        if (id !== undefined && seen.has(id)) offsets.push(start(pair.key) ?? 0);
        if (id !== undefined) seen.add(id);
        pending.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) pending.push(isPair(item) ? item.value : item);
    }
  }
  return offsets.sort((a, b) => a - b);
}

export class ConfigSource {
  readonly data: unknown;
  readonly syntaxErrors: string[];
  readonly yamlWarnings: string[];
  readonly #doc: Document.Parsed;
  readonly #lines = new LineCounter();

  constructor(
    readonly name: string,
    text: string,
  ) {
    // prettyErrors off: the pretty form quotes the offending source line, which may hold a secret.
    this.#doc = parseDocument(text, {
      lineCounter: this.#lines,
      prettyErrors: false,
      uniqueKeys: false,
    });
    const describe = (e: { pos: [number, number]; message: string }) =>
      this.#at(e.pos[0], `YAML: ${e.message}`);
    const duplicates = duplicateKeyOffsets(this.#doc).map((offset) => ({
      pos: [offset, offset] as [number, number],
      message: "Map keys must be unique",
    }));
    const errors = [...this.#doc.errors, ...duplicates].sort((a, b) => a.pos[0] - b.pos[0]);
    this.syntaxErrors = errors.map(describe);
    this.yamlWarnings = this.#doc.warnings.map(describe);
    this.data = this.syntaxErrors.length === 0 ? this.#toJs() : undefined;
  }

  #toJs(): unknown {
    try {
      return this.#doc.toJS();
    } catch (error) {
      // e.g. an alias bomb: the document is well-formed but cannot be expanded.
      this.syntaxErrors.push(`${this.name}: YAML: ${(error as Error).message}`);
      return undefined;
    }
  }

  #at(offset: number | undefined, text: string): string {
    if (offset === undefined) return `${this.name}: ${text}`;
    const { line, col } = this.#lines.linePos(offset);
    return `${this.name}:${line}:${col} ${text}`;
  }

  /**
   * Offset of the node at `path` (or of its key). For a key missing from the file, the key of the
   * mapping that should hold it: `device:` for a missing device.port.
   */
  offsetOf(path: KeyPath, atKey = false): number | undefined {
    let node: unknown = this.#doc.contents;
    let offset = start(node);
    let parentKey: unknown;
    for (const [i, key] of path.entries()) {
      if (isAlias(node)) node = node.resolve(this.#doc);
      const child = childOf(node, key);
      if (!child) return start(parentKey) ?? offset;
      const wantKey = atKey && i === path.length - 1;
      offset = (wantKey ? start(child.key) : undefined) ?? start(child.value) ?? offset;
      ({ key: parentKey, value: node } = child);
    }
    return offset;
  }

  /** `<file>:<line>:<col> <key.path>: <text>`, without the position when none is known. */
  format(problem: Problem): string {
    return this.locate(problem).line;
  }

  locate(problem: Problem): Located {
    const offset = this.offsetOf(problem.path, problem.atKey);
    return { offset, line: this.#at(offset, `${formatPath(problem.path)}: ${problem.text}`) };
  }

  /** Formatted lines in file order, so the list reads top to bottom like the file. */
  formatAll(problems: readonly Problem[]): string[] {
    return problems
      .map((p) => this.locate(p))
      .sort((a, b) => (a.offset ?? Number.MAX_SAFE_INTEGER) - (b.offset ?? Number.MAX_SAFE_INTEGER))
      .map((p) => p.line);
  }
}
