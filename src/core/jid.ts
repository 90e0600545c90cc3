/**
 * JIDs (RFC 7622) split and normalized so that two spellings of one account compare equal and
 * two different accounts never do. Access control matches on the output of this module, so every
 * choice below errs on the side of rejecting a JID rather than folding it into another one.
 *
 * What is applied, without a PRECIS/IDNA library:
 * - Split as RFC 7622 §3.2 says: the resource starts at the first "/", the localpart ends at the
 *   first "@" before it. "a/b@c" is domain "a" with resource "b@c".
 * - Localpart, an approximation of PRECIS UsernameCaseMapped (RFC 8265 §3.3): width mapping
 *   (fullwidth/halfwidth forms → their decompositions, so "ｊｕｌｉｅｔ" is "juliet", exactly as a
 *   PRECIS server would store it), toLowerCase, NFC. Then the IdentifierClass (RFC 8264 §4.2)
 *   as far as JavaScript's Unicode properties reach: ASCII 0x21–0x7E, or a letter, digit or
 *   combining mark (Ll Lu Lo Lm Nd Mn Mc) without a compatibility decomposition that is not
 *   default-ignorable, a conjoining Hangul jamo or one of the RFC 5892 DISALLOWED exceptions.
 *   So spaces, controls, invisible format characters, symbols, non-ASCII punctuation,
 *   unassigned and private-use code points, and compatibility characters (ligatures,
 *   mathematical letters, superscripts, circled letters) make the JID invalid instead of
 *   being folded. RFC 7622 §3.3.1 also excludes `"&'/:<>@`.
 * - Domainpart: the same mapping and character classes (ASCII: any printable but "@" and "/"),
 *   one trailing dot stripped, no empty labels.
 * - Resourcepart: NFC only (case kept); controls rejected.
 * - Each part 1..1023 bytes of UTF-8 after normalization.
 *
 * Look-alikes: Cyrillic "о" and Latin "o" are different letters and stay different, so a
 * look-alike account never takes a listed account's rights. Fullwidth forms are folded because
 * PRECIS folds them too: the server cannot hold "ｊｕｌｉｅｔ" as an account distinct from "juliet".
 *
 * What full PRECIS/IDNA2008 would add: the contextual rules (CONTEXTJ/CONTEXTO: ZWJ/ZWNJ after a
 * virama, middle dot between "l"s, Arabic-Indic digit mixing), the Bidi rule, the few PVALID
 * exceptions outside letters/digits (U+06FD, U+06FE, U+0F0B, U+3007, all rejected here), the
 * exact Unicode version of its derived property tables, A-label ↔ U-label conversion
 * ("xn--bcher-kva.example" does not match "bücher.example" here) and DNS label-length checks.
 * Each gap only rejects or distinguishes JIDs; none makes two different accounts compare equal.
 */

export interface Jid {
  local?: string;
  domain: string;
  resource?: string;
}

const MAX_PART_BYTES = 1023;
/**
 * Input longer than this cannot normalize to three parts of 1023 bytes each (normalization
 * shrinks a string by at most 4×), so it is refused before any Unicode work is spent on it.
 */
const MAX_INPUT_LENGTH = 4 * (3 * MAX_PART_BYTES + 2);

/** RFC 7622 §3.3.1: characters a localpart may not contain even though they are ASCII7. */
const LOCAL_FORBIDDEN_ASCII = new Set([..."\"&'/:<>@"]);
const LETTER_DIGIT = /^[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}]$/u;
const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
/** Halfwidth and Fullwidth Forms plus the ideographic space: every <wide>/<narrow> mapping. */
const WIDTH_FORMS = /[\u3000\uFF00-\uFFEF]/gu;
const CONTROL = /\p{Cc}|\p{Cs}/u;
/** Letters that RFC 5892 §2.6 disallows by exception (tatweel, N'Ko lajanyalan, CJK marks). */
const RFC5892_DISALLOWED = new Set([
  ..."\u0640\u07fa\u302e\u302f\u3031\u3032\u3033\u3034\u3035\u303b",
]);

/** Parse and normalize a JID; undefined when it is not a valid JID. */
export function parseJid(input: string): Jid | undefined {
  if (input.length === 0 || input.length > MAX_INPUT_LENGTH) return undefined;
  const slash = input.indexOf("/");
  const beforeResource = slash === -1 ? input : input.slice(0, slash);
  const at = beforeResource.indexOf("@");
  const jid: Jid = { domain: "" };
  if (at !== -1) {
    const local = normalizeLocal(beforeResource.slice(0, at));
    if (local === undefined) return undefined;
    jid.local = local;
  }
  const domain = normalizeDomain(beforeResource.slice(at + 1));
  if (domain === undefined) return undefined;
  jid.domain = domain;
  if (slash !== -1) {
    const resource = normalizeResource(input.slice(slash + 1));
    if (resource === undefined) return undefined;
    jid.resource = resource;
  }
  return jid;
}

/** The normalized bare JID ("local@domain" or "domain"), or undefined when invalid. */
export function bareJid(input: string): string | undefined {
  const jid = parseJid(input);
  return jid && formatJid({ local: jid.local, domain: jid.domain });
}

export function formatJid(jid: Jid): string {
  const bare = jid.local === undefined ? jid.domain : `${jid.local}@${jid.domain}`;
  return jid.resource === undefined ? bare : `${bare}/${jid.resource}`;
}

function normalizeLocal(raw: string): string | undefined {
  const local = foldIdentifier(raw);
  if (!withinLimits(local)) return undefined;
  for (const ch of local) {
    if (isAscii(ch) ? LOCAL_FORBIDDEN_ASCII.has(ch) || !isPrintableAscii(ch) : !isIdChar(ch)) {
      return undefined;
    }
  }
  return local;
}

function normalizeDomain(raw: string): string | undefined {
  let domain = foldIdentifier(raw);
  if (domain.endsWith(".")) domain = domain.slice(0, -1);
  if (!withinLimits(domain) || domain.split(".").includes("")) return undefined;
  for (const ch of domain) {
    if (isAscii(ch) ? ch === "@" || ch === "/" || !isPrintableAscii(ch) : !isIdChar(ch)) {
      return undefined;
    }
  }
  return domain;
}

function normalizeResource(raw: string): string | undefined {
  const resource = raw.normalize("NFC");
  return withinLimits(resource) && !CONTROL.test(resource) ? resource : undefined;
}

/** PRECIS order (RFC 8265 §3.3.2): width mapping, then case mapping, then NFC. */
function foldIdentifier(raw: string): string {
  return raw
    .replace(WIDTH_FORMS, (ch) => ch.normalize("NFKC"))
    .toLowerCase()
    .normalize("NFC");
}

function withinLimits(part: string): boolean {
  return part.length > 0 && utf8Length(part) <= MAX_PART_BYTES;
}

function isAscii(ch: string): boolean {
  return ch.charCodeAt(0) < 0x80;
}

function isPrintableAscii(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return code >= 0x21 && code <= 0x7e;
}

/** One non-ASCII code point of the approximated IdentifierClass (see the module comment). */
function isIdChar(ch: string): boolean {
  return (
    LETTER_DIGIT.test(ch) &&
    ch.normalize("NFKC") === ch &&
    !IGNORABLE.test(ch) &&
    !isConjoiningJamo(ch.codePointAt(0) ?? 0) &&
    !RFC5892_DISALLOWED.has(ch)
  );
}

/** PRECIS "OldHangulJamo": conjoining jamo left over after NFC composed what it could. */
function isConjoiningJamo(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x11ff) ||
    (cp >= 0xa960 && cp <= 0xa97f) ||
    (cp >= 0xd7b0 && cp <= 0xd7ff)
  );
}

function utf8Length(s: string): number {
  let bytes = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}
