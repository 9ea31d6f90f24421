// The string `format`s the constrained decoder enforces, each as an anchored pattern in the
// regex subset of regex.ts. Formats not listed here are refused by the schema compiler.

// Days as each month has them; February 29 only in leap years (every 4th, centuries every 400th).
const MONTH_DAY = '((0[13578]|1[02])-(0[1-9]|[12]\\d|3[01])|(0[469]|11)-(0[1-9]|[12]\\d|30)|02-(0[1-9]|1\\d|2[0-8]))';
const LEAP_YEAR = '(\\d\\d(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)';
const DATE = `(\\d{4}-${MONTH_DAY}|${LEAP_YEAR}-02-29)`;
const TIME = '([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d+)?([zZ]|[+-]([01]\\d|2[0-3]):[0-5]\\d)';
const DUR_TIME = '(\\d+H(\\d+M)?(\\d+S)?|\\d+M(\\d+S)?|\\d+S)';
const DUR_DATE = '(\\d+Y(\\d+M)?(\\d+D)?|\\d+M(\\d+D)?|\\d+D)';
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `${OCTET}(\\.${OCTET}){3}`;
const H = '[0-9A-Fa-f]{1,4}';
const IPV6 = [
  `(${H}:){7}${H}`,
  `(${H}:){1,7}:`,
  `(${H}:){1,6}:${H}`,
  `(${H}:){1,5}(:${H}){1,2}`,
  `(${H}:){1,4}(:${H}){1,3}`,
  `(${H}:){1,3}(:${H}){1,4}`,
  `(${H}:){1,2}(:${H}){1,5}`,
  `${H}:(:${H}){1,6}`,
  `:((:${H}){1,7}|:)`,
  `(${H}:){6}${IPV4}`,
  `::(ffff(:0{1,4})?:)?${IPV4}`,
  `(${H}:){1,4}:${IPV4}`,
].join('|');

/** A character of a URI (or IRI: any non-ASCII too) outside what RFC 3986 forbids anywhere. */
const URI_CHAR = '[^\\s"<>\\\\^`{|}]';
const URI_CHARS_ABS = `[A-Za-z][A-Za-z0-9+.-]*:${URI_CHAR}*`;
/** RFC 3986 relative-ref: no ":" before the first "/", "?" or "#" (else it would read as a scheme). */
const SEGMENT_CHAR = '[^/?#\\s"<>\\\\^`{|}]';
const RELATIVE_REF = `([^:/?#\\s"<>\\\\^\`{|}]${SEGMENT_CHAR}*)?([/?#]${URI_CHAR}*)?`;

export const FORMATS: Readonly<Record<string, string>> = {
  date: `^${DATE}$`,
  time: `^${TIME}$`,
  'date-time': `^${DATE}[Tt]${TIME}$`, // RFC 3339's grammar: a "T" (the space its note allows is not in the grammar)
  email: '^[A-Za-z0-9!#$%&\'*+/=?^_`{|}~.-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$',
  uuid: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$',
  uri: '^[A-Za-z][A-Za-z0-9+.-]*:[^\\s"<>\\\\^`{|}]*$',
  ipv4: `^${IPV4}$`,
  ipv6: `^(${IPV6})$`,
  hostname: `^${LABEL}(\\.${LABEL})*$`,
  'uri-reference': `^(${URI_CHARS_ABS}|${RELATIVE_REF})$`,
  iri: '^[A-Za-z][A-Za-z0-9+.-]*:[^\\s"<>\\\\^`{|}]*$',
  'iri-reference': `^(${URI_CHARS_ABS}|${RELATIVE_REF})$`,
  duration: `^P((${DUR_DATE})(T${DUR_TIME})?|T${DUR_TIME}|\\d+W)$`,
  'json-pointer': '^(/([^~/]|~[01])*)*$',
};
