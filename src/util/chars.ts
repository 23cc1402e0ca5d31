/**
 * Characters that can hide or redraw text: every control (C0, C1, DEL), format (bidi, zero-width),
 * line/paragraph separator, surrogate, private-use and unassigned code point, plus everything
 * Unicode marks default-ignorable (variation selectors, tag characters, Hangul fillers, CGJ…) and
 * the braille blank. One definition, used for what the model sees (stripped) and what a human
 * sees (escaped).
 */
export const HIDDEN_SOURCE = '[\\p{Cc}\\p{Cf}\\p{Cs}\\p{Co}\\p{Cn}\\p{Zl}\\p{Zp}\\p{Default_Ignorable_Code_Point}\\u2800]';

/** A fresh global matcher (global regexes carry state; never share one). */
export const hiddenChars = () => new RegExp(HIDDEN_SOURCE, 'gu');

const HIDDEN_TEST = new RegExp(HIDDEN_SOURCE, 'u');

export const hasHidden = (s: string) => HIDDEN_TEST.test(s);

/** `\u{XXXX}` with at least four hex digits. */
export const codePointEscape = (ch: string) => `\\u{${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}}`;
