// A terminal for a test to type into and read (tmux(1)): a server of its
// own on a socket in a temporary directory, a shell at a known size, its
// screen read with capture-pane, keys sent with send-keys; kill() ends it.
import { execFileSync } from 'node:child_process';
import { removeTempDir, tempDir } from './tmp';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Tmux {
  name: string;
  dir: string;
  constructor(name: string, columns = 120, rows = 40) {
    this.name = name;
    this.dir = tempDir('tcpcensus-tmux-');
    this.tmux('new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), 'env PS1="$ " TERM=xterm-256color bash --norc --noprofile');
  }
  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', `${this.dir}/socket`, ...args]).toString();
  }
  send(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }
  screen(history = 0) {
    return this.tmux('capture-pane', '-p', '-S', String(-history), '-t', this.name);
  }
  flags() {
    const [alt, cursor] = this.tmux('display', '-p', '-t', this.name, '#{alternate_on} #{cursor_flag}').trim().split(' ');
    return { alternate: alt === '1', cursor: cursor === '1' };
  }
  resize(x: number, y: number): void {
    this.tmux('resize-window', '-t', this.name, '-x', String(x), '-y', String(y));
  }
  async waitFor(re: RegExp, ms = 15000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`screen never showed ${re}:\n${s}`);
      await sleep(100);
    }
  }
  kill() {
    try {
      execFileSync('tmux', ['-S', `${this.dir}/socket`, 'kill-server'], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
    removeTempDir(this.dir);
  }
}
