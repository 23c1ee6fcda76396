const encoder = new TextEncoder();

const NON_ASCII = /[^\x00-\x7f]/;

/** Size in UTF-8 bytes, which is what limits are stated in. */
export function utf8ByteLength(text: string): number {
  // Most JSON is ASCII: one native scan instead of a loop over every code unit.
  if (!NON_ASCII.test(text)) return text.length;
  // Counting without encoding: code units map to 1, 2 or 3 bytes; a surrogate pair to 4.
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** UTF-8 size of the JSON form, or undefined when the value cannot be serialised (cycles, BigInt). */
export function jsonByteLength(value: unknown): number | undefined {
  try {
    const json = JSON.stringify(value);
    return json === undefined ? undefined : utf8ByteLength(json);
  } catch {
    return undefined;
  }
}

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}
