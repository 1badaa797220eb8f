// The documentation as a whole: README.md and every docs/*.md, for tests
// that check the docs say what the code does wherever the text now lives.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths';

/** README.md, then each docs/*.md in name order (when docs/ exists), joined by newlines. */
export function docsText(): string {
  const parts = [fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')];
  const docs = path.join(ROOT, 'docs');
  if (fs.existsSync(docs)) {
    for (const f of fs
      .readdirSync(docs)
      .filter((n) => n.endsWith('.md'))
      .sort())
      parts.push(fs.readFileSync(path.join(docs, f), 'utf8'));
  }
  return parts.join('\n');
}
