/** `s` cut to at most `n` UTF-16 units, never between the halves of a surrogate pair (it then keeps `n - 1`). */
export function sliceWhole(s: string, n: number): string {
  if (s.length <= n) return s;
  const last = s.charCodeAt(n - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}
