import { applyEdits, modify, parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { LoopIqError } from '../api/errors.js';

/** Parses a client config (JSON, or JSONC where the client allows comments); a syntax error names line and column. */
export function parseClientConfig(path: string, text: string, jsonc: boolean): Record<string, unknown> {
  if (text.trim() === '') return {};
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: jsonc, disallowComments: !jsonc });
  const [e] = errors;
  if (e) {
    const { line, column } = position(text, e.offset);
    throw new LoopIqError(
      'config_invalid',
      `${path} has a syntax error at line ${line}, column ${column}: ${printParseErrorCode(e.error)}.`,
      'Fix the file by hand (nothing was written), then run the command again.',
    );
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new LoopIqError('config_invalid', `${path} does not contain a JSON object.`, 'Fix the file by hand (nothing was written).');
  }
  return value as Record<string, unknown>;
}

/** Sets (or with `undefined`, removes) one value, keeping comments, order and formatting elsewhere. */
export function editJson(text: string, path: (string | number)[], value: unknown): string {
  const indent = detectIndent(text);
  const source = text.trim() === '' ? '{}\n' : text;
  const edits = modify(source, path, value, { formattingOptions: { insertSpaces: indent !== '\t', tabSize: indent === '\t' ? 1 : indent.length, eol: '\n' } });
  return applyEdits(source, edits);
}

function detectIndent(text: string): string {
  const m = /^([ \t]+)"/m.exec(text);
  return m?.[1] ?? '  ';
}

function position(text: string, offset: number) {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1) ?? '').length + 1 };
}

/** A small line diff (changed region with context), enough to show what an edit did. */
export function lineDiff(before: string, after: string, context = 2): string {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length - 1;
  let endB = b.length - 1;
  while (endA >= start && endB >= start && a[endA] === b[endB]) {
    endA--;
    endB--;
  }
  const out: string[] = [];
  for (let i = Math.max(0, start - context); i < start; i++) out.push(`  ${a[i]}`);
  for (let i = start; i <= endA; i++) out.push(`- ${a[i]}`);
  for (let i = start; i <= endB; i++) out.push(`+ ${b[i]}`);
  for (let i = endA + 1; i <= Math.min(a.length - 1, endA + context); i++) out.push(`  ${a[i]}`);
  return out.join('\n');
}
