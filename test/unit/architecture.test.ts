import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Fitness tests for the layout DESIGN.md describes: a one-way call path with no import circles.
const root = resolve(import.meta.dirname, '../..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g;

/** Every relative import of every src file, as src-relative paths. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of files(src)) {
    const text = readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT)) deps.push(relative(src, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
    g.set(relative(src, file), deps);
  }
  return g;
}

function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of g.get(node) ?? []) {
      if (state.get(dep) === 'visiting') found.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (state.get(dep) === undefined) visit(dep);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of g.keys()) if (state.get(node) === undefined) visit(node);
  return found;
}

describe('the source layout', () => {
  const g = graph();

  it('has no import circle anywhere in src/', () => {
    expect(cycles(g)).toEqual([]);
  });

  it('finds the imports it checks (the graph is not empty)', () => {
    expect(g.get('plugin.ts')).toContain('middleware.ts');
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });

  it('keeps model/ free of every other part of src/', () => {
    const outside = [...g].filter(([file]) => file.startsWith('model/')).flatMap(([file, deps]) => deps.filter((d) => !d.startsWith('model/')).map((d) => `${file} → ${d}`));
    expect(outside).toEqual([]);
  });

  it('never imports the plugin, the middleware or the call pipeline from a feature folder', () => {
    const top = (d: string) => d === 'plugin.ts' || d === 'middleware.ts' || d === 'config.ts' || d === 'index.ts' || d.startsWith('pipeline/');
    const upward = [...g].filter(([file]) => file.includes('/') && !file.startsWith('pipeline/') && !file.startsWith('fetch/')).flatMap(([file, deps]) => deps.filter(top).map((d) => `${file} → ${d}`));
    expect(upward).toEqual([]);
  });

  it('keeps every source file under 250 lines', () => {
    const long = files(src)
      .map((f) => [relative(src, f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, n]) => n > 250);
    expect(long).toEqual([]);
  });
});
