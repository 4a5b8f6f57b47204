// Invisible characters (Unicode Default_Ignorable_Code_Point) are not part of what a detector reads.
//
// Zero-width spaces and joiners, the soft hyphen, bidirectional controls, variation selectors and tag
// characters render as nothing. One of them inside a key ("sk-proj-ab\u200Bcd...") used to stop every
// detector while the reader still saw, and could copy, the key (black-box round 11). Detection therefore
// runs on the visible text, the text without them; a finding is mapped back to the original text, and the
// redaction covers the invisible characters inside it. Outside findings the text is left as it came.

const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;

/**
 * True when the text holds an invisible character. An ASCII text has none, and its UTF-8 length says so natively:
 * 100 KB of ASCII in 13 µs, where the regex alone takes 71 µs.
 */
export function hasInvisible(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') !== text.length && INVISIBLE.test(text);
}
const RUNS = /\p{Default_Ignorable_Code_Point}+/gu;

/** A text without its invisible characters, and where each of its code units was in the original. */
export interface Visible {
  readonly text: string;
  /** at[i] is the original index of text[i]; at[text.length] is the original length. */
  readonly at: Int32Array;
}

/** The visible text, or null when the text has no invisible character (the common case: one regex test). */
export function visibleText(text: string): Visible | null {
  if (!hasInvisible(text)) return null;
  let out = '';
  const at: number[] = [];
  let from = 0;
  RUNS.lastIndex = 0;
  for (let m = RUNS.exec(text); m !== null; m = RUNS.exec(text)) {
    for (let i = from; i < m.index; i++) at.push(i);
    out += text.slice(from, m.index);
    from = m.index + m[0].length;
  }
  for (let i = from; i < text.length; i++) at.push(i);
  out += text.slice(from);
  at.push(text.length);
  return { text: out, at: Int32Array.from(at) };
}

/** The runs of invisible characters of `text`, as [index in the visible text, the run], and the visible text. */
export function splitInvisible(text: string): { visible: string; runs: Array<[number, string]> } {
  const runs: Array<[number, string]> = [];
  let visible = '';
  let from = 0;
  RUNS.lastIndex = 0;
  for (let m = RUNS.exec(text); m !== null; m = RUNS.exec(text)) {
    visible += text.slice(from, m.index);
    runs.push([visible.length, m[0]]);
    from = m.index + m[0].length;
  }
  return { visible: visible + text.slice(from), runs };
}
