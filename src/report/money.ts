/**
 * Money in the report: each record's amount as integer nano-USD (a safe integer: parsing caps a
 * call at ~$9 million), added up in a {@link NanoSum}, exact at any size, converted once for output.
 */
export const NANO = 1e9;

/** A record's USD amount as integer nano-USD (0 when unknown). */
export const toNano = (usd: number | undefined): number => (usd === undefined ? 0 : Math.round(usd * NANO));

export const fromNano = (nano: number): number => nano / NANO;

/**
 * A sum of integer nano-USD amounts, exact at any size: a double while the sum is a safe
 * integer (one add per record, no allocation), carried into a BigInt past 2^53 (~$9 million),
 * where a double's sum loses last digits (a FOCUS BilledCost off by nano-dollars, then cents).
 */
export class NanoSum {
  private small = 0;
  private big = 0n;

  /** Adds an integer amount (non-finite ones are ignored: parsing never lets one through). */
  add(nano: number): void {
    const s = this.small + nano;
    if (Number.isSafeInteger(s)) this.small = s;
    else if (Number.isFinite(nano)) {
      this.big += BigInt(this.small) + BigInt(Math.round(nano));
      this.small = 0;
    }
  }

  /** Adds an exact amount (a product past 2^53 nano-USD: a commitment's hours × its hourly cost). */
  addExact(nano: bigint): void {
    this.big += nano;
  }

  /** The exact sum. */
  get value(): bigint {
    return this.big + BigInt(this.small);
  }

  /** The sum in USD as the nearest double (JSON numbers, shares, sorting). */
  get usd(): number {
    return this.big === 0n ? this.small / NANO : Number(this.value) / NANO;
  }

  /** The exact sum in USD with 9 decimals (`15000000.123456789`). */
  get decimal(): string {
    return nanoDecimal(this.value);
  }
}

/** `$1,234.56` for large amounts, `$0.001234` (up to four significant figures) for small ones. */
export function formatUsd(usd: number): string {
  const a = Math.abs(usd);
  if (a === 0) return '$0.00';
  if (a >= 1) return `${usd < 0 ? '-' : ''}$${a.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const digits = Math.min(9, Math.max(2, 3 - Math.floor(Math.log10(a))));
  return `${usd < 0 ? '-' : ''}$${a.toFixed(digits).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}

/**
 * An exact 9-decimal USD amount (a {@link NanoSum}'s `decimal`) as {@link formatUsd} prints it:
 * from $1 up, cents rounded half up from the exact digits (a double's `toLocaleString` drifts
 * past ~$9 million); below, where a double is exact to the nano-dollar, as formatUsd does.
 */
/** A whole number's digits grouped by thousands (`1234567` → `1,234,567`), for amounts past a double's exact range. */
export const groupThousands = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function formatUsdDecimal(decimal: string): string {
  const m = /^(-?)(\d+)\.(\d{9})$/.exec(decimal);
  if (m === null) return formatUsd(Number(decimal));
  const [, sign = '', whole = '0', fraction = '0'] = m;
  const nano = BigInt(whole) * 1_000_000_000n + BigInt(fraction);
  if (nano < 1_000_000_000n) return formatUsd(Number(decimal));
  const cents = (nano + 5_000_000n) / 10_000_000n;
  const dollars = groupThousands((cents / 100n).toString());
  return `${sign}$${dollars}.${(cents % 100n).toString().padStart(2, '0')}`;
}

/** A nano-USD integer as an exact decimal string (`1234567` → `0.001234567`), for CSV exports. */
export function nanoDecimal(nano: number | bigint): string {
  const neg = nano < 0;
  const digits = typeof nano === 'bigint' ? (neg ? -nano : nano).toString() : integerDigits(Math.abs(nano));
  const s = digits.padStart(10, '0');
  return `${neg ? '-' : ''}${s.slice(0, -9)}.${s.slice(-9)}`;
}

/** A non-negative amount's integer digits, never in exponent form (`String(1e21)` is `1e+21`; a sum of absurd records reaches it). */
export function integerDigits(n: number): string {
  const r = Math.round(n);
  return r < 1e21 ? String(r) : Number.isFinite(r) ? BigInt(r).toString() : '0';
}
