import { Tokenizer, TypeGuards } from 'liquidjs';
import type { TemplateProblem } from './template-engine';

/**
 * LiquidJS's `if` parser is lenient: `a ==`, `a b` or `== a` parse and then quietly evaluate to
 * something. A condition is a whole-workflow routing decision, so we hold it to the grammar
 * `operand (operator operand)*` with an optional `not` before operands, and report the column.
 */
export function conditionGrammarProblem(expr: string): TemplateProblem | undefined {
  let tokens;
  const tokenizer = new Tokenizer(expr);
  try {
    tokens = [...tokenizer.readExpressionTokens()];
    tokenizer.skipBlank();
  } catch {
    return undefined; // The Liquid parse reports it, with its own position.
  }
  if (!tokenizer.end()) {
    return problem(expr, `unexpected "${expr.slice(tokenizer.p, tokenizer.p + 20)}" in condition`, tokenizer.p);
  }
  let expectOperand = true;
  for (const token of tokens) {
    if (TypeGuards.isOperatorToken(token)) {
      if (token.operator === 'not') {
        if (!expectOperand) return problem(expr, '"not" must come before a value', token.begin);
        continue;
      }
      if (expectOperand) return problem(expr, `operator "${token.operator}" needs a value before it`, token.begin);
      expectOperand = true;
      continue;
    }
    if (!expectOperand) return problem(expr, `missing operator before "${token.getText().slice(0, 20)}"`, token.begin);
    if (TypeGuards.isQuotedToken(token)) {
      const text = token.getText();
      if (text.length < 2 || text[text.length - 1] !== text[0]) return problem(expr, 'unterminated string in condition', token.begin);
    }
    expectOperand = false;
  }
  if (expectOperand) return problem(expr, tokens.length === 0 ? 'condition is empty' : 'condition ends with an operator', expr.length);
  return undefined;
}

function problem(expr: string, message: string, offset: number): TemplateProblem {
  const before = offsetToPosition(expr, offset);
  return { reason: 'TEMPLATE_SYNTAX', message: `${message} at line ${before.line}, column ${before.col}`, ...before };
}

function offsetToPosition(expr: string, offset: number): { line: number; col: number } {
  const before = expr.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1].length + 1 };
}
