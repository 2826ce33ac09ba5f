import type { VolumeId } from '../../archive/names.js';
import type { Output } from '../output.js';
import type { WriteContext } from '../write-context.js';

export async function resumeDelete(_ctx: WriteContext, _vid: VolumeId, _out: Output): Promise<void> {
  throw new Error('resumeDelete: being written');
}
