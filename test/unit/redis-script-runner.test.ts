import { describe, expect, it } from 'vitest';
import { scriptRunner } from '../../src/budgets/redis/redis-client.js';
import { LEASE } from '../../src/budgets/redis/scripts.js';

/** An ioredis-shaped client that answers EVALSHA with `shaError` (or 'ok') and records what was sent. */
function fakeIo(shaError: string | undefined) {
  const sent: string[] = [];
  return {
    sent,
    client: {
      evalsha: () => {
        sent.push('evalsha');
        return shaError === undefined ? Promise.resolve('ok') : Promise.reject(new Error(shaError));
      },
      eval: (source: string) => {
        sent.push(source === LEASE.source ? 'eval' : 'eval?');
        return Promise.resolve('ok');
      },
    },
  };
}

describe('the script runner', () => {
  it('sends EVAL with the text once EVALSHA is refused for permission, and only EVAL from then on', async () => {
    const io = fakeIo("NOPERM User finops has no permissions to run the 'evalsha' command");
    const run = scriptRunner(io.client);
    for (let i = 0; i < 3; i++) expect(await run(LEASE, ['k'], [])).toBe('ok');
    expect(io.sent).toEqual(['evalsha', 'eval', 'eval', 'eval']);
  });

  it('loads the script with EVAL on NOSCRIPT and keeps using EVALSHA', async () => {
    const io = fakeIo('NOSCRIPT No matching script. Please use EVAL.');
    const run = scriptRunner(io.client);
    await run(LEASE, ['k'], []);
    await run(LEASE, ['k'], []);
    expect(io.sent).toEqual(['evalsha', 'eval', 'evalsha', 'eval']);
  });

  it('does not retry a NOPERM about a key (EVAL would be refused too): the error reaches the store', async () => {
    const io = fakeIo('NOPERM No permissions to access a key');
    const run = scriptRunner(io.client);
    await expect(run(LEASE, ['k'], [])).rejects.toThrow(/NOPERM/);
    expect(io.sent).toEqual(['evalsha']);
  });
});
