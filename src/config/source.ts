/**
 * The YAML side of configuration errors: parse with a line counter, then map a key path back to
 * the line and column it came from, so that every problem reads `<file>:<line>:<col> <path>: ...`
 * and an editor can jump to it.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document } from "yaml";
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

function childOf(node: unknown, key: PropertyKey): Child | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
    return pair && { key: pair.key, value: pair.value };
  }
  if (isSeq(node) && typeof key === "number") {
    const item: unknown = node.items[key];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
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
    this.#doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false });
    const describe = (e: { pos: [number, number]; message: string }) =>
      this.#at(e.pos[0], `YAML: ${e.message}`);
    this.syntaxErrors = this.#doc.errors.map(describe);
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
