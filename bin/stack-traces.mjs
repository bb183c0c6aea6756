// Stack traces of the minified bundle (dist/bundle/main.cjs) name the source files, lines
// and columns they came from. Node's --enable-source-maps would read the bundle's 5 MB map
// at every start; this reads it when a stack is first written out (a parked event, a bug),
// and never on a start that writes none (docs/performance.md, "Restart").
import { readFileSync, realpathSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A lookup from a position in `file` (1-based line and column, as a stack frame has them)
 * to where that code was written; undefined where the map does not say (or is missing).
 * The map, `file`.map, is read at the first lookup.
 */
export function sourcePositions(file) {
  let map;
  return (line, column) => {
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = null;
      }
    }
    const entry = map?.findEntry(line - 1, column - 1);
    if (!entry?.originalSource) return undefined;
    const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(dirname(file), entry.originalSource);
    return { source, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  };
}

/**
 * From now on, frames in `file` read as their source positions in every stack written out
 * (`position` looks them up: `sourcePositions(file)` unless a test gives its own).
 */
export function mapStackTraces(file, position = sourcePositions(file)) {
  // require() names a module by its real path, a vm.Script (Node 20's code cache) as given.
  const names = new Set([file, realpathSync(file)]);
  const frameText = (frame) => {
    const text = String(frame);
    try {
      const name = frame.getFileName();
      if (!names.has(name)) return text;
      const [line, column] = [frame.getLineNumber(), frame.getColumnNumber()];
      const at = position(line, column);
      return at ? text.replace(`${name}:${line}:${column}`, `${at.source}:${at.line}:${at.column}`) : text;
    } catch {
      return text;
    }
  };
  // The shape Node writes by default: the error's own line, then one "at" line per frame.
  Error.prepareStackTrace = (error, frames) => {
    let head;
    try {
      head = Error.prototype.toString.call(error);
    } catch {
      head = '<error>';
    }
    // process.report.getReport() writes a stack into a report nobody here reads (the crypto
    // library asks it which C library Node runs on, at every start): not worth the map.
    const plain = error?.code === 'ERR_SYNTHETIC';
    return frames.length ? `${head}\n    at ${frames.map(plain ? String : frameText).join('\n    at ')}` : head;
  };
}
