import { Liquid } from 'liquidjs';
import type { Template } from 'liquidjs';
import { TerminalError } from '../errors';
import type { ReasonCode } from '../errors';
import { conditionGrammarProblem } from './condition-grammar';
import { LruCache } from './lru-cache';

/**
 * The one LiquidJS configuration Herald uses, for validation, preview and delivery alike.
 * Templates are untrusted (operators write them, payloads fill them), so:
 *  - strictVariables: a typo is a permanent render error, not a silently empty field;
 *    lenientIf keeps `| default:` and `{% if maybe_missing %}` usable as the escape hatch;
 *  - strictFilters: an unknown filter fails at validation time, not at 3 a.m.;
 *  - ownPropertyOnly: no `__proto__` / `constructor` walks;
 *  - parse/render/memory limits bound every abuse (huge loops, amplification, date padding);
 *  - `templates: {}` swaps the file system for an empty in-memory map, and the include/render/
 *    layout tags are removed outright, so no template can read a file.
 * Dates render in UTC with an en-US locale so output never depends on the host.
 */
export const TEMPLATE_LIMITS = Object.freeze({
  /** Characters per parse; a little above the 64 KiB template bound so that bound reports first. */
  parseLimit: 128 * 1024,
  /** Wall-clock ms per render. Normal templates take microseconds. */
  renderLimit: 250,
  /** LiquidJS allocation units (roughly characters/array items) per render. */
  memoryLimit: 8_000_000,
});

const PARSED_CACHE_SIZE = 2000;
/** Source characters kept per cache; parse trees are a small multiple of their source. */
const PARSED_CACHE_CHARS = 8 * 1024 * 1024;
const DATE_FILTERS = ['date', 'date_to_xmlschema', 'date_to_rfc822', 'date_to_string', 'date_to_long_string'];
const FILE_TAGS = ['include', 'render', 'layout'];

/** Set only for the duration of one synchronous render, so `"now" | date` is the planner's now. */
let renderNow: Date | undefined;

function createEngine(escapeHtml: boolean): Liquid {
  const engine = new Liquid({
    strictVariables: true,
    lenientIf: true,
    strictFilters: true,
    ownPropertyOnly: true,
    templates: {},
    relativeReference: false,
    dynamicPartials: false,
    jsTruthy: false,
    timezoneOffset: 0,
    locale: 'en-US',
    parseLimit: TEMPLATE_LIMITS.parseLimit,
    renderLimit: TEMPLATE_LIMITS.renderLimit,
    memoryLimit: TEMPLATE_LIMITS.memoryLimit,
    ...(escapeHtml ? { outputEscape: 'escape' as const } : {}),
  });
  for (const tag of FILE_TAGS) delete engine.tags[tag];
  for (const name of DATE_FILTERS) {
    const original = engine.filters[name];
    if (typeof original !== 'function') continue;
    engine.registerFilter(name, function (this: unknown, value: unknown, ...args: unknown[]) {
      const pinned = (value === 'now' || value === 'today') && renderNow ? renderNow : value;
      return original.call(this as never, pinned, ...args);
    });
  }
  return engine;
}

const engines = {
  text: createEngine(false),
  html: createEngine(true),
};
type EngineMode = keyof typeof engines;

function newParsedCache(): LruCache<string, Template[] | TerminalError> {
  return new LruCache(PARSED_CACHE_SIZE, PARSED_CACHE_CHARS, (source) => source.length + 64);
}

/** The same templates render millions of times: keep their parse trees (and parse failures). */
const parsedCache: Record<EngineMode, LruCache<string, Template[] | TerminalError>> = {
  text: newParsedCache(),
  html: newParsedCache(),
};

export interface TemplateProblem {
  reason: ReasonCode;
  /** Says what is wrong and, for syntax errors, where: `... at line 2, column 5`. */
  message: string;
  line?: number;
  col?: number;
}

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

function undefinedVariableOf(error: unknown, depth = 0): string | undefined {
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
function describeFailure(error: unknown, phase: 'parse' | 'render', colShift = 0): TemplateProblem {
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

function problemToError(problem: TemplateProblem, variable?: string): TerminalError {
  const metadata: Record<string, string> = {};
  if (problem.line !== undefined) metadata.line = String(problem.line);
  if (problem.col !== undefined) metadata.col = String(problem.col);
  if (variable !== undefined) metadata.variable = variable;
  return new TerminalError(problem.reason, problem.message, { metadata });
}

function compile(source: string, mode: EngineMode): Template[] {
  return cached(parsedCache[mode], source, () => engines[mode].parse(source), 0);
}

/** Looks up or parses once; parse failures are cached too, so a bad template costs one parse. */
function cached(
  cache: LruCache<string, Template[] | TerminalError>,
  key: string,
  parse: () => Template[],
  colShift: number,
  precheck?: () => TemplateProblem | undefined,
): Template[] {
  let entry = cache.get(key);
  if (entry === undefined) {
    const early = precheck?.();
    if (early) entry = problemToError(early);
    else {
      try {
        entry = parse();
      } catch (error) {
        entry = problemToError(describeFailure(error, 'parse', colShift));
      }
    }
    cache.set(key, entry);
  }
  if (entry instanceof TerminalError) throw entry;
  return entry;
}

function renderCompiled(templates: Template[], mode: EngineMode, scope: object, now: Date | undefined, colShift = 0): string {
  const previousNow = renderNow;
  renderNow = now;
  try {
    return String(engines[mode].renderSync(templates, scope));
  } catch (error) {
    const problem = describeFailure(error, 'render', colShift);
    throw problemToError(problem, undefinedVariableOf(error));
  } finally {
    renderNow = previousNow;
  }
}

/** Parses without rendering. Empty list = the template is fine. */
export function parseTemplate(source: string, options: { escapeHtml?: boolean } = {}): TemplateProblem[] {
  try {
    compile(source, options.escapeHtml ? 'html' : 'text');
    return [];
  } catch (error) {
    return [errorToProblem(error)];
  }
}

export interface TemplateRenderOptions {
  /** HTML-escape every output (`{{ }}`) unless it ends in `| raw`. For email html bodies. */
  escapeHtml?: boolean;
  /** What `"now" | date` means. Pass the planner's now for deterministic output. */
  now?: Date;
}

/**
 * Renders synchronously (the planner is synchronous). Throws TerminalError with
 * UNDEFINED_VARIABLE, TEMPLATE_SYNTAX, TEMPLATE_LIMIT_EXCEEDED or TEMPLATE_RENDER_FAILED.
 */
export function renderTemplate(source: string, context: object, options: TemplateRenderOptions = {}): string {
  const mode: EngineMode = options.escapeHtml ? 'html' : 'text';
  return renderCompiled(compile(source, mode), mode, context, options.now);
}

/** A condition is a bare Liquid expression, evaluated as `{% if <expr> %}`. */
const CONDITION_PREFIX = '{% if ';
const CONDITION_SUFFIX = ' %}1{% endif %}';

const conditionCache = newParsedCache();

/** Conditions have their own cache, keyed by the bare expression. */
function compileCondition(expr: string): Template[] {
  return cached(
    conditionCache,
    expr,
    () => engines.text.parse(`${CONDITION_PREFIX}${expr}${CONDITION_SUFFIX}`),
    CONDITION_PREFIX.length,
    () => conditionShapeProblem(expr) ?? conditionGrammarProblem(expr),
  );
}

function conditionShapeProblem(expr: string): TemplateProblem | undefined {
  // Delimiters inside a condition would let it escape the `if` tag and become a template.
  if (/\{%|%\}|\{\{|\}\}/.test(expr)) {
    return { reason: 'TEMPLATE_SYNTAX', message: 'a condition is a bare expression; it must not contain {% %} or {{ }} delimiters' };
  }
  if (expr.trim() === '') return { reason: 'TEMPLATE_SYNTAX', message: 'a condition must not be blank' };
  return undefined;
}

export function parseCondition(expr: string): TemplateProblem[] {
  try {
    compileCondition(expr);
    return [];
  } catch (error) {
    return [errorToProblem(error)];
  }
}

/** Liquid truthiness: only `false` and `nil` (and a missing variable, via lenientIf) are false. */
export function evaluateCondition(expr: string, context: object, options: { now?: Date } = {}): boolean {
  const templates = compileCondition(expr);
  return renderCompiled(templates, 'text', context, options.now, CONDITION_PREFIX.length) === '1';
}

function errorToProblem(error: unknown): TemplateProblem {
  if (error instanceof TerminalError) {
    const line = error.metadata.line === undefined ? undefined : Number(error.metadata.line);
    const col = error.metadata.col === undefined ? undefined : Number(error.metadata.col);
    return { reason: error.reason, message: error.message, ...(line === undefined ? {} : { line }), ...(col === undefined ? {} : { col }) };
  }
  return { reason: 'TEMPLATE_SYNTAX', message: String((error as Error)?.message ?? error) };
}
