import { TerminalError } from '../errors';
import type { TemplateProblem } from './template-engine';

/** How LiquidJS errors become Herald's typed errors. */
interface LiquidishError {
  name?: string;
  message?: string;
  originalError?: unknown;
  token?: { getPosition?: () => number[] };
}

function positionOf(error: LiquidishError): { line?: number; col?: number } {
  try {
    const position = error.token?.getPosition?.();
    if (position && position.length >= 2) return { line: position[0], col: position[1] };
  } catch {
    // A token without a position: report without one.
  }
  return {};
}

/** LiquidJS appends `, line:1, col:4`; we say it our own way, once. */
function bareMessage(error: LiquidishError): string {
  return String(error.message ?? 'template error').replace(/, line:\d+, col:\d+$/, '');
}

function isLimitError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as LiquidishError;
  if (e instanceof RangeError) return true; // stack exhaustion from deep nesting
  if (typeof e.message === 'string' && /limit exceeded|Maximum call stack/i.test(e.message)) return true;
  return isLimitError(e.originalError, depth + 1);
}

export function undefinedVariableOf(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 5) return undefined;
  const e = error as LiquidishError & { variableName?: string };
  if (e.name === 'UndefinedVariableError' || e.name === 'InternalUndefinedVariableError') {
    if (typeof e.variableName === 'string') return e.variableName;
    const match = /undefined variable: ([^,\s]+)/.exec(String(e.message));
    return match ? match[1] : 'unknown';
  }
  return undefinedVariableOf(e.originalError, depth + 1);
}

/** Turns anything LiquidJS throws into a problem description; `colShift` undoes a wrapper prefix. */
export function describeFailure(error: unknown, phase: 'parse' | 'render', colShift = 0): TemplateProblem {
  const e = (error ?? {}) as LiquidishError;
  const position = positionOf(e);
  if (position.line === 1 && position.col !== undefined) position.col = Math.max(1, position.col - colShift);
  const where = position.line !== undefined ? ` at line ${position.line}, column ${position.col}` : '';
  if (isLimitError(error)) {
    return { reason: 'TEMPLATE_LIMIT_EXCEEDED', message: `template exceeds a safety limit (${bareMessage(e)})${where}`, ...position };
  }
  const variable = undefinedVariableOf(error);
  if (variable !== undefined) {
    return { reason: 'UNDEFINED_VARIABLE', message: `undefined variable "${variable}"${where}; use | default: to make it optional`, ...position };
  }
  if (phase === 'parse' || e.name === 'TokenizationError' || e.name === 'ParseError') {
    return { reason: 'TEMPLATE_SYNTAX', message: `${bareMessage(e)}${where}`, ...position };
  }
  return { reason: 'TEMPLATE_RENDER_FAILED', message: `${bareMessage(e)}${where}`, ...position };
}

export function problemToError(problem: TemplateProblem, variable?: string): TerminalError {
  const metadata: Record<string, string> = {};
  if (problem.line !== undefined) metadata.line = String(problem.line);
  if (problem.col !== undefined) metadata.col = String(problem.col);
  if (variable !== undefined) metadata.variable = variable;
  return new TerminalError(problem.reason, problem.message, { metadata });
}

export function errorToProblem(error: unknown): TemplateProblem {
  if (error instanceof TerminalError) {
    const line = error.metadata.line === undefined ? undefined : Number(error.metadata.line);
    const col = error.metadata.col === undefined ? undefined : Number(error.metadata.col);
    return { reason: error.reason, message: error.message, ...(line === undefined ? {} : { line }), ...(col === undefined ? {} : { col }) };
  }
  return { reason: 'TEMPLATE_SYNTAX', message: String((error as Error)?.message ?? error) };
}
