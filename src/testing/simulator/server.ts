import { Buffer } from 'node:buffer';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimulatorEngine, type BedrockSimulatorOptions, type SimResponse, type SimulatorStats } from './engine.js';
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

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      resolve(Buffer.concat(parts));
    });
    req.on('error', reject);
  });
}

async function send(res: ServerResponse, response: SimResponse): Promise<void> {
  res.writeHead(response.status, response.headers);
  if (response.body instanceof Uint8Array) {
    res.end(response.body);
    return;
  }
  const it = response.body[Symbol.asyncIterator]();
  // A client that goes away ends the stream, so its capacity is given back.
  res.on('close', () => void it.return?.());
  for (;;) {
    const next: IteratorResult<Uint8Array, unknown> = await it.next();
    if (next.done === true || res.destroyed) break;
    res.write(next.value);
  }
  res.end();
}

/**
 * Starts a local HTTP server that speaks the Bedrock Runtime REST protocol well enough for an
 * unmodified `BedrockRuntimeClient` (Converse, ConverseStream, InvokeModel and
 * InvokeModelWithResponseStream for the Anthropic, Nova, Titan and Llama formats, CountTokens),
 * with deterministic token counts and configurable capacity. It speaks HTTP/1.1: give the client
 * `requestHandler: new NodeHttpHandler()` (from `@smithy/node-http-handler`).
 *
 * @example
 * const sim = await startBedrockSimulator();
 * const client = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1',
 *   credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, requestHandler: new NodeHttpHandler() });
 */
export async function startBedrockSimulator(options: BedrockSimulatorOptions = {}): Promise<BedrockSimulator> {
  const engine = new SimulatorEngine(options);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const response = await engine.handle({ method: req.method ?? 'GET', path: req.url ?? '/', body });
        await send(res, response);
      } catch {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"message":"simulator error"}');
      }
    })();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stats: engine.stats,
    requestHandler: () => simulatorRequestHandler(engine),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
