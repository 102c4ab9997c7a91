/** Characters per token of the default heuristic (see the README's measured error table). */
export const CHARS_PER_TOKEN = 3.5;

/** Tokens the heuristic counts for `chars` characters of text. */
export function tokensForChars(chars: number): number {
  return chars <= 0 ? 0 : Math.ceil(chars / CHARS_PER_TOKEN);
}
