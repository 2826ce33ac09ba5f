// --volume-desc: the description a volinfo carries (format spec §16): printable, at most 100
// UTF-8 bytes when written (Wyng's write rule; its reader counts characters, which is looser).

import { isPrintable } from '../../archive/names.js';
import { InputError } from '../../errors.js';

export const MAX_DESCRIPTION_BYTES = 100;

/** Returns the description, or throws an InputError saying what is wrong with it. */
export function checkDescription(desc: string): string {
  if (!isPrintable(desc)) throw new InputError('--volume-desc: control characters are not allowed in a volume description.');
  if (Buffer.byteLength(desc, 'utf8') > MAX_DESCRIPTION_BYTES)
    throw new InputError(`--volume-desc: a volume description is at most ${MAX_DESCRIPTION_BYTES} UTF-8 bytes.`);
  // `key = value` lines are stripped when read: spaces at either end would not survive.
  return desc.trim();
}
