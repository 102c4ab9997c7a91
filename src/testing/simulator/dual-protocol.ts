import { Buffer } from 'node:buffer';
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** A request and its response, in either protocol (Node's HTTP/2 compatibility API mirrors HTTP/1's). */
export type DualRequest = IncomingMessage | Http2ServerRequest;
export type DualResponse = ServerResponse | Http2ServerResponse;
export type DualHandler = (req: DualRequest, res: DualResponse) => void;

/** What every HTTP/2 connection starts with when the client has prior knowledge (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * A socket whose first bytes were already read to sniff the protocol. The HTTP/2 server reads
 * the native socket handle directly, so bytes given back with `unshift` would be lost; a JS
 * stream that replays them first makes Node wrap it instead.
 */
class ReplayingSocket extends Duplex {
  constructor(
    private readonly socket: Socket,
    head: Buffer,
  ) {
    super();
    this.push(head);
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}

/** A listening port that answers HTTP/1.1 and cleartext HTTP/2 (prior knowledge). */
export interface DualProtocolServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on one port for both protocols: the AWS SDK's default handler (`NodeHttp2Handler`)
 * speaks HTTP/2 without TLS to an `http://` endpoint, while `NodeHttpHandler`, fetch, curl and
 * msw-style tools speak HTTP/1.1. Each connection's first bytes decide which server takes it.
 */
export async function listenHttp1AndHttp2(handler: DualHandler, host: string, port: number): Promise<DualProtocolServer> {
  const http1 = createHttp1Server(handler);
  http1.keepAliveTimeout = 5_000;
  const http2 = createHttp2Server(handler);
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const http2Preface = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (http2Preface && head.length < PREFACE.length) return; // not enough bytes to tell yet
      socket.off('data', sniff);
      socket.pause();
      if (http2Preface) {
        http2.emit('connection', new ReplayingSocket(socket, head));
      } else {
        socket.unshift(head);
        http1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', sniff);
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        http1.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
