// STUB (tests first): replaced by the real rule in the next commit.

export function inert(text: string, _keep = ''): string {
  return text;
}

export function hasTerminalControls(_text: string): boolean {
  return false;
}
