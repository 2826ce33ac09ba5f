// Text that came from the other side (the destination, its helper, an archive's metadata) is
// shown to the user only inert: every character a terminal could act on is replaced by a
// visible escape, so a destination cannot clear the screen, set the window title, move the
// cursor, reorder a line, or start a fake line ("\nVerification OK"). The same set of
// characters is what an archive path may not contain (paths.ts), so both ends share this rule.
//
// The characters: C0 controls (U+0000–U+001F), DEL (U+007F), C1 controls (U+0080–U+009F, among
// them the 8-bit CSI U+009B), the bidirectional formatting characters (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069) and lone UTF-16 surrogates. Shown as `\n`, `\r`, `\t`, `\xNN`
// below U+0080 and `\uNNNN` above. Backslashes stay as they are: the rendering is for reading,
// not for decoding back, and escaping them would garble every Windows-style name.

// \p{Cc} is exactly C0, DEL and C1; with the u flag, \p{Cs} matches only unpaired surrogates.
const TERMINAL_CONTROLS = /[\p{Cc}\p{Cs}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const ANY_TERMINAL_CONTROL = new RegExp(TERMINAL_CONTROLS.source, 'u');

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  return NAMED[ch] ?? (code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * `text` with every terminal control rendered as a visible escape, except the characters in
 * `keep` (our own layout: "\n" for multi-line messages, "\r" for redrawn progress). What it
 * returns contains no character it would change, so applying it twice changes nothing.
 */
export function inert(text: string, keep = ''): string {
  return text.replace(TERMINAL_CONTROLS, (ch) => (keep.includes(ch) ? ch : visible(ch)));
}

/** Whether `text` holds a character that inert() would escape. */
export function hasTerminalControls(text: string): boolean {
  return ANY_TERMINAL_CONTROL.test(text);
}
