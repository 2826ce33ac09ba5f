import { Command } from 'clipanion';
import { SkiffCommand } from '../skiff-command.js';

export class VersionCommand extends SkiffCommand {
  static override paths = [['version']];
  static override usage = Command.Usage({
    description: 'Print the version and exit.',
    examples: [['Print the version (also: skiff --version)', 'skiff version']],
  });
  protected override readonly touchesArchive = false;

  async run(): Promise<number> {
    this.banner(this.output(false), false);
    return 0;
  }
}
