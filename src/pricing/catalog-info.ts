/** What the bundled price data is and how old it is. */
export interface PriceCatalogInfo {
  readonly name: string;
  readonly version: string;
  /** When that catalog version was published (its prices are at most this fresh). */
  readonly publishedAt: string;
  readonly provider: 'aws';
}

// The catalog dependency is pinned to this exact version (a test checks it), so this stays true.
const INFO: PriceCatalogInfo = { name: '@pydantic/genai-prices', version: '0.1.8', publishedAt: '2026-09-23', provider: 'aws' };

/** The price catalog bundled with this version of bedrock-finops, for reports and dashboards. */
export function priceCatalogInfo(): PriceCatalogInfo {
  return INFO;
}
