/**
 * The README and docs/ as a reader follows them: every relative link resolves to a file of the repository
 * (and a `#fragment` to a heading there), none points outside it, and no `*.md` file is named that the
 * repository does not have (a clone has nothing beside it to read).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const documents = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const textOf = (file: string) => readFileSync(join(root, file), 'utf8');

/** The text without fenced code blocks (links and headings there are not links or headings). */
const withoutFences = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');
/** Also without inline code spans. */
const prose = (text: string) => withoutFences(text).replace(/`[^`\n]*`/g, '');

/** GitHub's heading anchors (github-slugger): lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutFences(textOf(file)).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const text = match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every link target of a Markdown file: inline links and images, and reference definitions. */
function linksOf(file: string): string[] {
  const text = prose(textOf(file));
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const definitions = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!);
  return [...inline, ...definitions];
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe.each(documents)('%s', (file) => {
  it('links only to files of the repository, and to headings that exist', () => {
    const problems: string[] = [];
    for (const target of linksOf(file)) {
      if (isExternal(target)) continue;
      const [path = '', fragment] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? join(root, file) : resolve(dirname(join(root, file)), decodeURIComponent(path));
      const inside = relative(root, resolved);
      if (inside.startsWith('..')) problems.push(`${target}: outside the repository`);
      else if (!existsSync(resolved)) problems.push(`${target}: no such file`);
      else if (fragment !== undefined && statSync(resolved).isFile() && resolved.endsWith('.md') && !anchorsOf(inside).has(fragment)) {
        problems.push(`${target}: no heading #${fragment} in ${inside}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('names no Markdown file the repository does not have', () => {
    const text = withoutFences(textOf(file)).replace(/\bhttps?:\/\/\S+/g, '');
    const named = [...text.matchAll(/(?<![\w/.-])((?:\.{1,2}\/)*[\w-]+(?:[./][\w-]+)*\.md)\b/g)].map((m) => m[1]!);
    const missing = named.filter((name) => {
      const candidates = [resolve(dirname(join(root, file)), name), resolve(root, name)];
      return !candidates.some((c) => !relative(root, c).startsWith('..') && existsSync(c));
    });
    expect([...new Set(missing)]).toEqual([]);
  });
});

describe('the link checks themselves', () => {
  it('find the links, the headings and the names they check', () => {
    expect(linksOf('README.md')).toEqual(expect.arrayContaining(['docs/upstream.md', '#production', 'deploy/production.env.example']));
    expect([...anchorsOf('docs/upstream.md')]).toEqual(
      expect.arrayContaining(['13-headers-idempotency-and-why-writes-cannot-be-fenced', '3-the-official-sdks-retry-policies-and-the-gateways']),
    );
    expect([...anchorsOf('README.md')]).toEqual(expect.arrayContaining(['production', 'metrics-prometheus', 'hardening-query-limits-and-rate-limit']));
  });
});
