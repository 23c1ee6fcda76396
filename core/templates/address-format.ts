/**
 * Address checks applied after rendering (and to trigger recipients). Deliberately the
 * WHATWG "valid e-mail address" grammar: what browsers accept, no comments, no quoted locals.
 */
const EMAIL_ADDRESS =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const MAX_EMAIL_LENGTH = 254;

/** E.164: a plus, a non-zero country digit, at most 15 digits in all. */
const E164 = /^\+[1-9][0-9]{1,14}$/;

export function isEmailAddress(value: string): boolean {
  return value.length <= MAX_EMAIL_LENGTH && EMAIL_ADDRESS.test(value);
}

/**
 * A single mailbox: `addr@example.com` or `Display Name <addr@example.com>`. The display name
 * may be quoted; unquoted it must not carry `,` or `;`, which would turn one mailbox into a list.
 */
export function isMailbox(value: string): boolean {
  const named = /^(.*?)\s*<([^<>]*)>$/.exec(value);
  if (!named) return isEmailAddress(value);
  const [, name, address] = named;
  const nameOk = name === '' || /^"(?:[^"\\]|\\.)*"$/.test(name) || /^[^,;<>"@]*$/.test(name);
  return nameOk && isEmailAddress(address);
}

export function isE164(value: string): boolean {
  return E164.test(value);
}

export function hasLineBreak(value: string): boolean {
  // CR, LF and the Unicode line separators that some mail stacks also fold on.
  return /[\r\n\u0085\u2028\u2029]/.test(value);
}
