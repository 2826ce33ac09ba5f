// Skiff's version, and the Wyng release whose commands, options and outputs it follows.
// (test/version.test.ts keeps VERSION equal to package.json's.)

export const VERSION = '0.1.0';
export const WYNG_COMPAT = { version: '0.8 rc4', date: '20251028' } as const;
/** The first line every command prints (Wyng prints "Wyng 0.8 rc4 release 20251028"). */
export const RELEASE_LINE = `Skiff ${VERSION} (Wyng ${WYNG_COMPAT.version} compatible)`;
