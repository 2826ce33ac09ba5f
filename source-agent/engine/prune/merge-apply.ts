import type { SessionName, VolumeId } from '../../archive/names.js';
import type { Output } from '../output.js';
import type { WriteContext } from '../write-context.js';

export async function resumeMerge(
  _ctx: WriteContext,
  _journal: { vid: VolumeId; target: SessionName; sources: SessionName[] },
  _out: Output,
): Promise<void> {
  throw new Error('resumeMerge: being written');
}
