import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy in front of Redis that can lose one reply: armed, it drops the next bytes Redis
 * sends back and cuts the connection, as a network failure after the command ran would. ioredis
 * then reconnects and re-sends the command (`autoResendUnfulfilledCommands`).
 */
export async function lossyProxy(targetPort: number): Promise<{ port: number; loseNextReply: () => void; lost: () => number; close: () => Promise<void> }> {
  let armed = false;
  let lost = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (armed) {
        armed = false;
        lost++;
        cut();
        return;
      }
      client.write(d);
    });
    client.on('close', cut).on('error', cut);
    upstream.on('close', cut).on('error', cut);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no proxy port');
  return {
    port: address.port,
    loseNextReply: () => {
      armed = true;
    },
    lost: () => lost,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
