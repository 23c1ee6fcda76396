import { Liquid } from 'liquidjs';
import type { Template } from 'liquidjs';
import { TerminalError } from '../errors';
import type { ReasonCode } from '../errors';
import { conditionGrammarProblem } from './condition-grammar';
import { describeFailure, errorToProblem, problemToError, undefinedVariableOf } from './template-errors';
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

/** The top-level names a template can see: the execution context's keys. */
export const CONTEXT_ROOTS = ['payload', 'recipient', 'trigger', 'workflow', 'steps'] as const;

export interface ParseOptions {
  escapeHtml?: boolean;
  /**
   * When set, a variable whose root is not one of these (and not assigned or looped in the
   * template) is reported as UNDEFINED_VARIABLE: `paylod.name` fails at validation, not at send.
   */
  roots?: readonly string[];
}

/** Parses without rendering. Empty list = the template is fine. */
export function parseTemplate(source: string, options: ParseOptions = {}): TemplateProblem[] {
  const mode: EngineMode = options.escapeHtml ? 'html' : 'text';
  try {
    const templates = compile(source, mode);
    return options.roots ? unknownRoots(templates, mode, options.roots, 0) : [];
  } catch (error) {
    return [errorToProblem(error)];
  }
}

function unknownRoots(templates: Template[], mode: EngineMode, roots: readonly string[], colShift: number): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  let globals: Record<string, Array<{ location: { row: number; col: number } }>>;
  try {
    globals = engines[mode].analyzeSync(templates).globals;
  } catch {
    return problems; // Analysis is a lint; rendering still enforces strictVariables.
  }
  for (const [name, uses] of Object.entries(globals)) {
    if (roots.includes(name)) continue;
    const location = uses[0]?.location;
    const line = location?.row;
    const col = location === undefined ? undefined : line === 1 ? Math.max(1, location.col - colShift) : location.col;
    const where = line !== undefined ? ` at line ${line}, column ${col}` : '';
    problems.push({
      reason: 'UNDEFINED_VARIABLE',
      message: `unknown variable "${name}"${where}; templates see ${roots.join(', ')}`,
      ...(line === undefined ? {} : { line, col }),
    });
  }
  return problems;
}

/** A `steps.<id>` reference with a literal node id, where it appears in its template. */
export interface StepReference {
  nodeId: string;
  line?: number;
  col?: number;
}

/**
 * The node ids a template (or, with `condition`, an edge condition) reads through `steps.<id>`.
 * Dynamic ids (`steps[payload.k]`) are not listed: only rendering can resolve those. A
 * template that does not parse lists nothing; its parse error is reported on its own.
 */
export function stepReferences(source: string, options: { escapeHtml?: boolean; condition?: boolean } = {}): StepReference[] {
  const mode: EngineMode = options.escapeHtml ? 'html' : 'text';
  const colShift = options.condition ? CONDITION_PREFIX.length : 0;
  try {
    const templates = options.condition ? compileCondition(source) : compile(source, mode);
    const uses = engines[mode].analyzeSync(templates).globals.steps ?? [];
    const out: StepReference[] = [];
    for (const use of uses) {
      const nodeId = use.segments[1];
      if (typeof nodeId !== 'string') continue;
      const line = use.location?.row;
      const col = use.location === undefined ? undefined : line === 1 ? Math.max(1, use.location.col - colShift) : use.location.col;
      out.push({ nodeId, ...(line === undefined ? {} : { line, col }) });
    }
    return out;
  } catch {
    return [];
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

export function parseCondition(expr: string, options: { roots?: readonly string[] } = {}): TemplateProblem[] {
  try {
    const templates = compileCondition(expr);
    return options.roots ? unknownRoots(templates, 'text', options.roots, CONDITION_PREFIX.length) : [];
  } catch (error) {
    return [errorToProblem(error)];
  }
}

/** Liquid truthiness: only `false` and `nil` (and a missing variable, via lenientIf) are false. */
export function evaluateCondition(expr: string, context: object, options: { now?: Date } = {}): boolean {
  const templates = compileCondition(expr);
  return renderCompiled(templates, 'text', context, options.now, CONDITION_PREFIX.length) === '1';
}
