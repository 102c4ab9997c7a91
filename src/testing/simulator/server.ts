import { Buffer } from 'node:buffer';
import { listenHttp1AndHttp2, type DualRequest, type DualResponse } from './dual-protocol.js';
import { SimulatorEngine } from './engine.js';
import type { SimResponse } from './responses.js';
import type { BedrockSimulatorOptions, SimulatorStats } from './types.js';
import { simulatorRequestHandler, type SimulatorRequestHandler } from './in-process-handler.js';

/** A running local Bedrock simulator. */
export interface BedrockSimulator {
  /** `http://127.0.0.1:PORT`: pass it as the client's `endpoint`. */
  readonly url: string;
  readonly port: number;
  /** What it has served so far. */
  readonly stats: SimulatorStats;
  /**
   * A request handler that answers in-process (no sockets) with the same engine: for
   * benchmarks and unit tests. Pass it as the client's `requestHandler`.
   */
  requestHandler(): SimulatorRequestHandler;
  /** Stops the server. */
  close(): Promise<void>;
}

function readBody(req: DualRequest): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      resolve(Buffer.concat(parts));
    });
    req.on('error', reject);
  });
}

async function send(res: DualResponse, response: SimResponse): Promise<void> {
  res.writeHead(response.status, response.headers);
  if (response.body instanceof Uint8Array) {
    res.end(response.body);
    return;
  }
  const it = response.body[Symbol.asyncIterator]();
  let closed = false;
  // A client that goes away ends the stream, so its capacity is given back.
  res.on('close', () => {
    closed = true;
    void it.return?.();
  });
  for (;;) {
    const next: IteratorResult<Uint8Array, unknown> = await it.next();
    if (next.done === true || closed) break;
    // Both response types have this write; their overload sets just do not unify.
    (res as { write(chunk: Uint8Array): boolean }).write(next.value);
  }
  res.end();
}

/**
 * Starts a local server that speaks the Bedrock Runtime REST protocol well enough for an
 * unmodified `BedrockRuntimeClient` (Converse, ConverseStream, InvokeModel and
 * InvokeModelWithResponseStream for the Anthropic, Nova, Titan and Llama formats, CountTokens,
 * and Nova Sonic-style InvokeModelWithBidirectionalStream), with deterministic token counts and
 * configurable capacity. One port answers cleartext HTTP/2 (what the client's default handler
 * speaks to an `http://` endpoint) and HTTP/1.1 (`NodeHttpHandler`, fetch, curl).
 *
 * @example
 * const sim = await startBedrockSimulator();
 * const client = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1',
 *   credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
 */
export async function startBedrockSimulator(options: BedrockSimulatorOptions = {}): Promise<BedrockSimulator> {
  const engine = new SimulatorEngine(options);
  const host = options.host ?? '127.0.0.1';
  const server = await listenHttp1AndHttp2(
    (req, res) => {
      void (async () => {
        try {
          const method = req.method ?? 'GET';
          const path = req.url ?? '/';
          const response =
            method === 'POST' && SimulatorEngine.isBidirectional(path)
              ? engine.handleBidirectional(path, req)
              : await engine.handle({ method, path, body: await readBody(req) });
          await send(res, response);
        } catch {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"message":"simulator error"}');
        }
      })();
    },
    host,
    options.port ?? 0,
  );
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`,
    port: server.port,
    stats: engine.stats,
    requestHandler: () => simulatorRequestHandler(engine),
    close: () => server.close(),
  };
}
