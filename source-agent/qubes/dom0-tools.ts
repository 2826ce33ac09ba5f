// The dom0 programs restore runs after a VM is back, as wyng-util-qubes runs them: the app menus
// are the desktop user's, so they run as uid 1000 through sudo (`sudo -u #1000 qvm-appmenus
// --update VM`; for templates and standalones first `qvm-sync-appmenus VM` with the VM running).
// Their failure never fails the restore: a non-zero exit is ignored (as wyng-util-qubes does),
// a program that cannot be started or runs past its deadline is one warning line.

import { ExternalCommandError, execFileCapture } from '../sys/exec.js';

/** Longer than qvm-sync-appmenus takes on a slow template (it waits for the VM's qrexec agent). */
export const DOM0_TOOL_DEADLINE_MS = 10 * 60 * 1000;

/** Runs argv with env; resolves to null when it ran (whatever its exit status), else why it could not run. */
export async function runSoftly(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<string | null> {
  try {
    await execFileCapture(argv, { env, deadlineMs: DOM0_TOOL_DEADLINE_MS });
    return null;
  } catch (error) {
    if (error instanceof ExternalCommandError && error.exitCode !== null) return null;
    return error instanceof Error ? error.message : String(error);
  }
}

/** The desktop user's command line for a dom0 tool (wyng-util-qubes: `sudo -u #1000`). */
export function asDesktopUser(...argv: string[]): string[] {
  return ['sudo', '-u', '#1000', ...argv];
}
