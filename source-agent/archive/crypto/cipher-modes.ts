// The cipher modes of V3 (spec §4.1), keyed by the two-digit `ci` code in archive.ini.

export type CipherCode = '00' | '32' | '34' | '35';
export type CipherOption = 'off' | 'xchacha20-ct' | 'xchacha20-msr' | 'xchacha20-dgr';
/** How nonces are made when writing: counter+time (ct), hash of content (msr), hash of Hd (dgr). */
export type NonceStyle = 'ct' | 'msr' | 'dgr';

export interface CipherMode {
  readonly code: CipherCode;
  readonly option: CipherOption;
  readonly encrypted: boolean;
  /** Name Wyng shows for the metadata cipher, e.g. in `list --verbose`. */
  readonly metadataCipherName: string;
  readonly nonceStyle: NonceStyle | null;
  /** The hashtype archive.ini must carry for this mode. */
  readonly hashtype: 'hmac-sha256' | 'blake2b';
}

export const CIPHER_MODES: Record<CipherCode, CipherMode> = {
  '00': { code: '00', option: 'off', encrypted: false, metadataCipherName: 'off', nonceStyle: null, hashtype: 'blake2b' },
  '32': {
    code: '32',
    option: 'xchacha20-ct',
    encrypted: true,
    metadataCipherName: 'xchacha20-poly1305-ct',
    nonceStyle: 'ct',
    hashtype: 'hmac-sha256',
  },
  '34': {
    code: '34',
    option: 'xchacha20-msr',
    encrypted: true,
    metadataCipherName: 'xchacha20-poly1305-msr',
    nonceStyle: 'msr',
    hashtype: 'hmac-sha256',
  },
  '35': {
    code: '35',
    option: 'xchacha20-dgr',
    encrypted: true,
    metadataCipherName: 'xchacha20-poly1305-msr',
    nonceStyle: 'dgr',
    hashtype: 'hmac-sha256',
  },
};

const CIPHER_MODES_BY_CODE: ReadonlyMap<string, CipherMode> = new Map(Object.entries(CIPHER_MODES));

export function cipherModeByCode(code: string): CipherMode | undefined {
  return CIPHER_MODES_BY_CODE.get(code);
}

export function cipherModeByOption(option: string): CipherMode | undefined {
  return Object.values(CIPHER_MODES).find((mode) => mode.option === option);
}

/** "xchacha20-dgr (xchacha20-poly1305-msr)", or "off", as Wyng prints the cipher. */
export function describeCipher(mode: CipherMode): string {
  return mode.encrypted ? `${mode.option} (${mode.metadataCipherName})` : 'off';
}
