const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Strict RFC 3339 date-time: a full date, a full time and an explicit offset (no local times,
 * which would depend on the host). Returns undefined for anything else, including calendar
 * nonsense like February 30 that Date.parse would roll over.
 */
export function parseRfc3339(text: string): Date | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, , offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  // Leap seconds (60) are clamped by Date; we accept them as RFC 3339 does.
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
  if (offset !== 'Z' && offset !== 'z') {
    const [oh, om] = offset.slice(1).split(':').map(Number);
    if (oh > 23 || om > 59) return undefined;
  }
  const millis = Date.parse(text.replace(' ', 'T').replace(/z$/, 'Z').replace(/t/, 'T'));
  return Number.isFinite(millis) ? new Date(millis) : undefined;
}
