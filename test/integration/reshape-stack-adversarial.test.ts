import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { MiddlewareStack } from '@smithy/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bedrockFinOps, BudgetExceededError, FINOPS_MIDDLEWARE, reshapeMiddlewareStack, type UsageRecord } from '../../src/index.js';
import { converseReply, makeClient, on, recorder, REGION, useMockBedrock } from '../helpers/bedrock.js';
import { shapedCount, stackEntries } from '../helpers/stack.js';

// Adversarial checks of reshapeMiddlewareStack (re-adds every entry of a smithy middleware stack
// with an empty before/after) and of the plugin's own entries carrying an empty before/after.
// The tests under "stacks it cannot handle" began as failing reproductions of bugs the first
// version had (its put-back pass was unguarded and re-validated names); each comment says what broke.

const server = useMockBedrock();
afterEach(() => {
  vi.restoreAllMocks();
});

type Handler = (args: unknown) => Promise<unknown>;
type Mw = (next: Handler, context: unknown) => Handler;
type Options = Record<string, unknown>;

/** The SDK's stack, typed loosely (entries of any step, by reference or name). */
interface LooseStack {
  add(m: unknown, o: Options): void;
  addRelativeTo(m: unknown, o: Options): void;
  remove(m: unknown): boolean;
  removeByTag(tag: string): boolean;
  identify(): string[];
  identifyOnResolve(toggle?: boolean): boolean;
  applyToStack(to: unknown): void;
  use(plugin: unknown): void;
}
const loose = (stack: unknown): LooseStack => stack as LooseStack;
const asStack = (stack: unknown): MiddlewareStack<object, object> => stack as MiddlewareStack<object, object>;

/** A stable id per function, so snapshots compare middlewares by identity. */
const ids = new WeakMap<object, string>();
let lastId = 0;
const idOf = (f: unknown): unknown => {
  if (typeof f !== 'function') return f;
  let id = ids.get(f);
  if (id === undefined) ids.set(f, (id = `fn#${++lastId}`));
  return id;
};

/** Every entry as {middleware, options} without before/after (what reshaping may change): same functions (by identity), options, order. */
function snapshot(stack: unknown): { middleware: unknown; options: Options }[] {
  return stackEntries(stack).map(([middleware, o]) => {
    const { before: _b, after: _a, ...options } = o;
    return { middleware: idOf(middleware), options: { ...options, middleware: idOf(options.middleware) } };
  });
}

/** What a middleware saw of its arguments: keys, the request's method and path, and the call's text (tells concurrent calls apart). */
function describeArgs(args: unknown): string {
  const a = args as { input?: { messages?: { content?: { text?: string }[] }[] }; request?: { method?: string; path?: string } };
  const text = a.input?.messages?.[0]?.content?.[0]?.text ?? '?';
  const request = a.request === undefined ? '-' : `${a.request.method ?? ''} ${a.request.path ?? ''}`;
  return `[${text}] keys=${Object.keys(args as object).sort().join(',')} request=${request}`;
}

/** A middleware factory that logs `label` and what the middleware saw, per call. */
function marker(log: string[]): (label: string) => Mw {
  return (label) => (next) => (args) => {
    log.push(`${label} ${describeArgs(args)}`);
    return next(args);
  };
}

/** The per-call logs of the given call texts: each call's own middleware order. */
function perCall(log: readonly string[], text: string): string[] {
  return log.filter((l) => l.includes(`[${text}] `)).map((l) => l.replace(`[${text}] `, ''));
}

/** A Bedrock stand-in: the call whose text is "n" uses n input tokens and 10n output tokens. */
function tokensFromText(): void {
  server.use(
    on('converse', async ({ request }) => {
      const body = (await request.json()) as { messages: { content: { text: string }[] }[] };
      const n = Number(body.messages[0]!.content[0]!.text);
      return converseReply({ inputTokens: n, outputTokens: 10 * n });
    }),
  );
}

const MODEL = 'amazon.nova-lite-v1:0';
const say = (text: string) => new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text }] }] });
const send = (client: BedrockRuntimeClient, text = '1') => client.send(say(text));

/** The per-attempt hook's name on this stack (`bedrockFinOpsAttemptMiddleware` or with `#n`). */
const attemptName = (stack: unknown): string => loose(stack).identify().find((e) => e.startsWith('bedrockFinOpsAttemptMiddleware'))!.split(' ')[0]!;

const STEPS = ['initialize', 'serialize', 'build', 'finalizeRequest', 'deserialize'] as const;
const PRIORITIES = ['high', 'normal', 'low'] as const;

/**
 * User middlewares of every kind on a stack that carries the plugin: one per step × priority
 * (tagged), two anonymous ones in one step, one function added twice (absolute and relative),
 * entries before/after both plugin entries (by name and by alias), relative-to-relative chains,
 * overridden absolute and relative entries, an entry relative to an SDK middleware.
 */
function addEverything(stack: unknown, log: string[]): { shared: Mw } {
  const s = loose(stack);
  const m = marker(log);
  const attempt = attemptName(stack);
  for (const step of STEPS) for (const priority of PRIORITIES) s.add(m(`${step}/${priority}`), { name: `u-${step}-${priority}`, step, priority, tags: ['USER', `STEP_${step}`] });
  s.add(m('anon-build-1'), { step: 'build' });
  s.add(m('anon-build-2'), { step: 'build' });
  const shared = m('shared');
  s.add(shared, { name: 'sharedAbs', step: 'serialize', priority: 'low' });
  s.addRelativeTo(shared, { name: 'sharedRel', relation: 'after', toMiddleware: 'u-build-high' });
  s.addRelativeTo(m('before-finops'), { name: 'beforeFinops', aliases: ['bf'], relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name, tags: ['REL'] });
  s.addRelativeTo(m('after-finops-1'), { name: 'afterFinops1', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name });
  s.addRelativeTo(m('after-finops-2'), { name: 'afterFinops2', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name });
  s.addRelativeTo(m('before-before-finops'), { name: 'bbf', relation: 'before', toMiddleware: 'bf' });
  s.addRelativeTo(m('after-after-finops-1'), { name: 'aaf', relation: 'after', toMiddleware: 'afterFinops1' });
  s.addRelativeTo(m('after-aaf'), { name: 'aaaf', relation: 'after', toMiddleware: 'aaf' });
  s.addRelativeTo(m('before-attempt'), { name: 'beforeAttempt', relation: 'before', toMiddleware: attempt });
  s.addRelativeTo(m('after-attempt'), { name: 'afterAttempt', relation: 'after', toMiddleware: attempt, tags: ['REL'] });
  s.add(m('replaced'), { name: 'ov', step: 'build', priority: 'low' });
  s.add(m('replacement'), { name: 'ov', step: 'build', priority: 'low', override: true });
  s.addRelativeTo(m('rel-replaced'), { name: 'rov', relation: 'before', toMiddleware: 'ov' });
  s.addRelativeTo(m('rel-replacement'), { name: 'rov', relation: 'before', toMiddleware: 'ov', override: true });
  s.addRelativeTo(m('after-retry'), { name: 'afterRetry', relation: 'after', toMiddleware: 'retryMiddleware' });
  s.addRelativeTo(m('before-signing-alias'), { name: 'beforeSigning', relation: 'before', toMiddleware: 'awsAuthMiddleware' });
  return { shared };
}

/** A client with the plugin and every kind of user middleware, its stack as it was, and a view of it whose remove() throws on the calls `refuses` picks (counted from 1). */
function refusingRemovals(refuses: (n: number) => boolean): { client: BedrockRuntimeClient; before: ReturnType<typeof snapshot>; proxy: BedrockRuntimeClient['middlewareStack'] } {
  const client = makeClient(bedrockFinOps({}));
  addEverything(client.middlewareStack, []);
  const before = snapshot(client.middlewareStack);
  let removes = 0;
  const proxy = new Proxy(client.middlewareStack, {
    get: (target, key, receiver) => {
      if (key !== 'remove') return Reflect.get(target, key, receiver) as unknown;
      return (m: never) => {
        if (refuses(++removes)) throw new Error('removal refused');
        return target.remove(m);
      };
    },
  });
  return { client, before, proxy };
}

/** A client with the plugin (recording into `records`) and every kind of user middleware, after one call: `expected` is what that call ran. */
async function loggedClient(): Promise<{ client: BedrockRuntimeClient; records: UsageRecord[]; log: string[]; expected: string[] }> {
  tokensFromText();
  const { records, onUsage } = recorder();
  const log: string[] = [];
  const client = makeClient(bedrockFinOps({ onUsage }));
  addEverything(client.middlewareStack, log);
  await send(client, '1');
  return { client, records, log, expected: perCall(log, '1') };
}

/** What a stack operation did: its result, or its error's message. */
function outcome(op: () => unknown): string {
  try {
    return `ok ${JSON.stringify(op())}`;
  } catch (error) {
    return `threw ${(error as Error).message}`;
  }
}

describe('reshapeMiddlewareStack: the client behaves exactly as before', () => {
  it('twin clients, one reshaped: same entries (functions, options, order), same identify, same run order and args, and every later stack operation (duplicates, aliases, tags, removal, plugin re-added) answers the same', async () => {
    // Checks: an un-reshaped and a reshaped client with the same entries stay indistinguishable
    // through sends and a sequence of stack operations; the plugin meters each call once on both.
    tokensFromText();
    const { records, onUsage } = recorder();
    const finops = bedrockFinOps({ onUsage });
    const logs = { plain: [] as string[], shaped: [] as string[] };
    const plain = makeClient(finops);
    const shaped = makeClient(finops);
    const { shared: sharedPlain } = addEverything(plain.middlewareStack, logs.plain);
    const { shared: sharedShaped } = addEverything(shaped.middlewareStack, logs.shaped);
    const total = stackEntries(shaped.middlewareStack).length;

    expect(reshapeMiddlewareStack(shaped.middlewareStack)).toBe(total);
    expect(shapedCount(shaped.middlewareStack)).toBe(total);
    // The twins' user middlewares are different closures: compared by kind (their run order is compared below).
    const strip = (snap: ReturnType<typeof snapshot>) => snap.map(({ options }) => ({ ...options, middleware: typeof options.middleware }));
    expect(strip(snapshot(shaped.middlewareStack))).toEqual(strip(snapshot(plain.middlewareStack)));
    expect(shaped.middlewareStack.identify()).toEqual(plain.middlewareStack.identify());

    await send(plain, '2');
    await send(shaped, '2');
    expect(logs.shaped).toEqual(logs.plain);
    expect(logs.plain.length).toBeGreaterThan(20);
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([
      [2, 20],
      [2, 20],
    ]);

    const ops: ((s: LooseStack, shared: Mw) => unknown)[] = [
      // A duplicate name, a duplicate alias, a duplicate of an SDK alias: refused on both.
      (s) => s.add(() => undefined, { name: 'u-build-high', step: 'build' }),
      (s) => s.add(() => undefined, { name: 'x', aliases: ['bf'], step: 'build' }),
      (s) => s.addRelativeTo(() => undefined, { name: 'tokenMiddleware', relation: 'after', toMiddleware: 'ov' }),
      // An override with another step is refused on both.
      (s) => s.add(() => undefined, { name: 'u-build-high', step: 'serialize', override: true }),
      (s) => s.remove('bf'),
      (s) => s.remove('bf'),
      (s) => s.removeByTag('STEP_build'),
      (s, shared) => s.remove(shared),
      (s) => s.remove('sharedRel'),
      (s) => s.removeByTag('REL'),
      // Freed names can be taken again.
      (s) => s.add(marker([])('again'), { name: 'u-build-high', step: 'build', priority: 'high' }),
      (s) => s.addRelativeTo(marker([])('again-rel'), { name: 'beforeFinops', aliases: ['bf'], relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name }),
      (s) => s.remove('beforeSigning'),
      // An SDK entry removed by one of its aliases.
      (s) => s.remove('tokenMiddleware'),
      (s) => s.identify(),
    ];
    for (const op of ops) {
      const a = outcome(() => op(loose(plain.middlewareStack), sharedPlain));
      const b = outcome(() => op(loose(shaped.middlewareStack), sharedShaped));
      expect(b).toBe(a);
    }
    logs.plain.length = 0;
    logs.shaped.length = 0;
    await send(plain, '3');
    await send(shaped, '3');
    expect(logs.shaped).toEqual(logs.plain);
    expect(records).toHaveLength(4);

    // The plugin removed: middlewares placed relative to it now dangle, and both clients fail alike.
    expect(plain.middlewareStack.removeByTag('BEDROCK_FINOPS')).toBe(true);
    expect(shaped.middlewareStack.removeByTag('BEDROCK_FINOPS')).toBe(true);
    // (The SDK throws while resolving the handler, synchronously from send.)
    const errA = outcome(() => {
      void send(plain);
    });
    const errB = outcome(() => {
      void send(shaped);
    });
    expect(errA).toMatch(/bedrockFinOpsMiddleware is not found/);
    expect(errB).toBe(errA);
    // Re-added: metered once each, middlewares in the same order again.
    plain.middlewareStack.use(finops);
    shaped.middlewareStack.use(finops);
    expect(shaped.middlewareStack.identify()).toEqual(plain.middlewareStack.identify());
    logs.plain.length = 0;
    logs.shaped.length = 0;
    await send(plain, '4');
    await send(shaped, '4');
    expect(logs.shaped).toEqual(logs.plain);
    expect(records.map((r) => r.inputTokens)).toEqual([2, 2, 3, 3, 4, 4]);
  });

  it('budgets are still enforced after reshaping: admitted until the limit, then refused before sending', async () => {
    // Checks: the metering middleware still runs (once) and admits/refuses as before.
    let requests = 0;
    server.use(
      on('converse', () => {
        requests++;
        return converseReply({ inputTokens: 10, outputTokens: 50 });
      }),
    );
    const { records, onUsage } = recorder();
    const client = makeClient(bedrockFinOps({ onUsage, estimator: () => 10, budgets: [{ name: 'daily', limit: { tokens: 150 }, window: 'day' }] }));
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBeGreaterThan(0);
    const call = () => client.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'x' }] }], inferenceConfig: { maxTokens: 50 } }));
    await call();
    await call();
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error).toMatchObject({ budget: 'daily', used: 120, requested: 60 });
    expect(requests).toBe(2);
    expect(records).toHaveLength(2);
  });

  it('calls in flight while the stack is reshaped, and calls sent concurrently after it, are each metered once with their own usage, their middlewares in order', async () => {
    // Checks: handlers resolved before the reshape keep working; concurrent calls on one client
    // (before and after) each run the user middlewares once in the same order and get one record.
    const { client, records, log, expected } = await loggedClient();
    const inFlight = ['11', '12', '13', '14'].map((t) => send(client, t));
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBeGreaterThan(0);
    const after = ['21', '22', '23', '24'].map((t) => send(client, t));
    await Promise.all([...inFlight, ...after]);
    for (const t of ['11', '12', '13', '14', '21', '22', '23', '24']) expect(perCall(log, t)).toEqual(expected);
    expect(records.map((r) => [r.inputTokens, r.outputTokens]).sort((a, b) => a[0]! - b[0]!)).toEqual(
      [1, 11, 12, 13, 14, 21, 22, 23, 24].map((n) => [n, 10 * n]),
    );
  });

  it('on a stack with identifyOnResolve(true): reshaping logs nothing, keeps the flag, and each call logs the same list as before', async () => {
    // Checks: reshape reads the stack without resolving it (no console.log) and leaves identifyOnResolve on.
    server.use(on('converse', () => converseReply()));
    const client = makeClient(bedrockFinOps({}));
    addEverything(client.middlewareStack, []);
    loose(client.middlewareStack).identifyOnResolve(true);
    const logged = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await send(client);
    expect(logged).toHaveBeenCalledTimes(1);
    const first = logged.mock.calls[0];
    logged.mockClear();
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBeGreaterThan(0);
    expect(logged).not.toHaveBeenCalled();
    expect(loose(client.middlewareStack).identifyOnResolve()).toBe(true);
    await send(client);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0]).toEqual(first);
  });

  it('reshaping twice is a no-op; middlewares added after a reshape (relative to reshaped entries) land where they should; reshaping again re-adds all and changes nothing', async () => {
    // Checks: 0 from an all-shaped stack; later entries interleave correctly; a second reshape keeps identify and run order.
    server.use(on('converse', () => converseReply()));
    const { records, onUsage } = recorder();
    const log: string[] = [];
    const m = marker(log);
    const client = makeClient(bedrockFinOps({ onUsage }));
    addEverything(client.middlewareStack, log);
    const total = stackEntries(client.middlewareStack).length;
    const original = snapshot(client.middlewareStack);
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(total);
    // Same functions (by identity), same options, same order.
    expect(snapshot(client.middlewareStack)).toEqual(original);
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(0);
    const s = loose(client.middlewareStack);
    s.addRelativeTo(m('late-after-aaaf'), { name: 'late1', relation: 'after', toMiddleware: 'aaaf' });
    s.addRelativeTo(m('late-before-finops'), { name: 'late2', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
    s.add(m('late-init-high'), { name: 'late3', step: 'initialize', priority: 'high' });
    await send(client);
    const ran = perCall(log, '1').map((l) => l.split(' ')[0]);
    const at = (label: string) => ran.indexOf(label);
    // Absolute initialize/high entries run in the order added: the plugin's chain (with its relatives) before late3.
    expect(ran.slice(0, 9)).toEqual(['before-before-finops', 'before-finops', 'late-before-finops', 'after-finops-2', 'after-finops-1', 'after-after-finops-1', 'after-aaf', 'late-after-aaaf', 'initialize/high']);
    expect(at('late-init-high')).toBe(at('initialize/high') + 1);
    const identified = client.middlewareStack.identify();
    log.length = 0;
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(total + 3);
    expect(client.middlewareStack.identify()).toEqual(identified);
    await send(client);
    expect(perCall(log, '1').map((l) => l.split(' ')[0])).toEqual(ran);
    expect(records).toHaveLength(2);
  });

  it("entries whose options carry a non-array before/after (a string, a number, null) are reshaped with no change in order; frozen options and frozen empty arrays are never written to", async () => {
    // Checks: the SDK ignores an entry's own before/after (it builds fresh ones per call), so odd
    // values change nothing; frozen arrays on entries survive calls with relatives attached to them.
    server.use(on('converse', () => converseReply()));
    const log: string[] = [];
    const m = marker(log);
    const { records, onUsage } = recorder();
    const client = makeClient(bedrockFinOps({ onUsage }));
    const s = loose(client.middlewareStack);
    s.add(m('odd-1'), { name: 'odd1', step: 'build', before: 'x', after: 7 });
    s.add(m('odd-2'), { name: 'odd2', step: 'build', before: null, after: [] });
    s.add(m('frozen'), Object.freeze({ name: 'frozen', step: 'serialize', before: Object.freeze([]), after: Object.freeze([]) }));
    s.addRelativeTo(m('before-frozen'), Object.freeze({ name: 'bfz', relation: 'before', toMiddleware: 'frozen' }));
    s.addRelativeTo(m('after-frozen'), Object.freeze({ name: 'afz', relation: 'after', toMiddleware: 'frozen', before: Object.freeze([]), after: Object.freeze([]) }));
    s.addRelativeTo(m('after-afz'), { name: 'aafz', relation: 'after', toMiddleware: 'afz' });
    s.addRelativeTo(m('before-odd1'), { name: 'bodd', relation: 'before', toMiddleware: 'odd1', before: 'nope' });
    await send(client);
    const ran = [...log];
    expect(ran.map((l) => l.split(' ')[0])).toEqual(['before-frozen', 'frozen', 'after-frozen', 'after-afz', 'before-odd1', 'odd-1', 'odd-2']);
    const identified = client.middlewareStack.identify();
    const total = stackEntries(client.middlewareStack).length;
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(total);
    expect(client.middlewareStack.identify()).toEqual(identified);
    log.length = 0;
    await send(client);
    expect(log).toEqual(ran);
    expect(records).toHaveLength(2);
  });

  it('a stack of nothing but already-shaped entries, and an empty stack (a new command), answer 0 and are untouched', () => {
    // Checks: the early exit.
    const client = makeClient(bedrockFinOps({}));
    for (const e of client.middlewareStack.identify()) if (!e.startsWith('bedrockFinOps')) client.middlewareStack.remove(e.split(' ')[0]!);
    // The SDK's relative httpAuthSchemeMiddleware (before the command's endpointV2Middleware) dangles on the client stack: identify() hides it.
    expect(stackEntries(client.middlewareStack)).toHaveLength(3);
    expect(client.middlewareStack.remove('httpAuthSchemeMiddleware')).toBe(true);
    expect(client.middlewareStack.identify()).toHaveLength(2);
    const before = snapshot(client.middlewareStack);
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(0);
    expect(snapshot(client.middlewareStack)).toEqual(before);
    expect(reshapeMiddlewareStack(say('1').middlewareStack)).toBe(0);
  });
});

describe("the plugin's own shaped entries with the SDK's ordering", () => {
  it('middlewares placed before/after both plugin entries (by name, in chains) run in the same order per call under concurrency, and each call is metered once with its own usage', async () => {
    // Checks: the SDK never fills the plugin entries' own before/after arrays (shared by every
    // per-call copy), so relatives do not pile up or leak across calls: each call runs each once.
    const { client, records, log, expected } = await loggedClient();
    expect(expected.filter((l) => l.startsWith('before-finops ')).length).toBe(1);
    const texts = Array.from({ length: 12 }, (_, i) => String(i + 2));
    await Promise.all(texts.map((t) => send(client, t)));
    for (const t of texts) expect(perCall(log, t)).toEqual(expected);
    // The plugin's entries still carry their own empty arrays, untouched.
    const ours = stackEntries(client.middlewareStack).filter(([, o]) => String(o.name).startsWith('bedrockFinOps'));
    expect(ours.map(([, o]) => [o.before, o.after])).toEqual([
      [[], []],
      [[], []],
    ]);
    expect(records).toHaveLength(13);
    for (const r of records) expect(r.outputTokens).toBe(10 * r.inputTokens);
  });

  it('with cacheMiddleware: true (one cached handler, one shared context): concurrent calls, before and after a reshape, each metered once with their own usage, middlewares in order', async () => {
    // Checks: the SDK's handler cache with the plugin's shaped entries and relatives around them;
    // a reshape after the handler was cached changes nothing; a client reshaped before its first call too.
    tokensFromText();
    const { records, onUsage } = recorder();
    const finops = bedrockFinOps({ onUsage });
    const cached = () => {
      const c = new BedrockRuntimeClient({ region: REGION, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new NodeHttpHandler(), cacheMiddleware: true });
      c.middlewareStack.use(finops);
      return c;
    };
    const log: string[] = [];
    const a = cached();
    addEverything(a.middlewareStack, log);
    await send(a, '1');
    const expected = perCall(log, '1');
    await Promise.all(['2', '3', '4', '5', '6'].map((t) => send(a, t)));
    expect(reshapeMiddlewareStack(a.middlewareStack)).toBeGreaterThan(0);
    await Promise.all(['7', '8', '9', '10', '11'].map((t) => send(a, t)));
    for (const t of ['2', '3', '4', '5', '6', '7', '8', '9', '10', '11']) expect(perCall(log, t)).toEqual(expected);

    const logB: string[] = [];
    const b = cached();
    addEverything(b.middlewareStack, logB);
    expect(reshapeMiddlewareStack(b.middlewareStack)).toBeGreaterThan(0);
    await Promise.all(['101', '102', '103', '104'].map((t) => send(b, t)));
    for (const t of ['101', '102', '103', '104']) expect(perCall(logB, t)).toEqual(expected);

    const seen = records.map((r) => r.inputTokens).sort((x, y) => x - y);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 101, 102, 103, 104]);
    for (const r of records) expect(r.outputTokens).toBe(10 * r.inputTokens);
  });

  it('removed and re-added (same instance), re-applied on top of itself, and after a reshape: entries, order and metering stay right; another instance is still refused', async () => {
    // Checks: override: true re-adds of shaped entries; relatives to the plugin follow it back;
    // a remove/re-add cycle gives the same stack with or without a reshape before it; the
    // second-instance guard still reads the (reshaped) stack.
    tokensFromText();
    const { records, onUsage } = recorder();
    const finops = bedrockFinOps({ onUsage });
    const log: string[] = [];
    const client = makeClient(finops);
    addEverything(client.middlewareStack, log);
    const cycle = async (text: string) => {
      expect(client.middlewareStack.removeByTag('BEDROCK_FINOPS')).toBe(true);
      client.middlewareStack.use(finops);
      client.middlewareStack.use(finops);
      await send(client, text);
      return { identified: client.middlewareStack.identify(), ran: perCall(log, text) };
    };
    // Re-added entries go last among their step and priority (the SDK's order): this is the reference.
    const reference = await cycle('1');
    expect(reference.ran.filter((l) => l.startsWith('before-finops ')).length).toBe(1);
    expect(await cycle('2')).toEqual(reference);
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBeGreaterThan(0);
    expect(client.middlewareStack.identify()).toEqual(reference.identified);
    expect(await cycle('3')).toEqual(reference);
    // Everything is shaped: the plugin re-adds its entries shaped.
    expect(reshapeMiddlewareStack(client.middlewareStack)).toBe(0);
    client.middlewareStack.use(finops);
    await send(client, '4');
    expect(perCall(log, '4')).toEqual(reference.ran);
    expect(() => client.middlewareStack.use(bedrockFinOps({}))).toThrow(/already carries another bedrockFinOps instance/);
    expect(records.map((r) => r.inputTokens)).toEqual([1, 2, 3, 4]);
  });

  it("applied to a command's own stack, with relatives on the client stack pointing at it: metered once per send, same order; reshaping the command's stack between sends changes nothing", async () => {
    // Checks: the plugin's shaped entries survive the SDK's concat (client stack + command stack,
    // command middlewares re-added on each send with override), and reshaping a command's stack.
    tokensFromText();
    const { records, onUsage } = recorder();
    const finops = bedrockFinOps({ onUsage });
    const log: string[] = [];
    const m = marker(log);
    const client = makeClient();
    const c = loose(client.middlewareStack);
    c.addRelativeTo(m('client-before-finops'), { name: 'cbf', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
    c.addRelativeTo(m('client-after-finops'), { name: 'caf', relation: 'after', toMiddleware: FINOPS_MIDDLEWARE.name });
    c.add(m('client-build'), { name: 'cb', step: 'build' });
    const command = say('5');
    command.middlewareStack.use(finops as never);
    const attempt = attemptName(command.middlewareStack);
    const k = loose(command.middlewareStack);
    k.addRelativeTo(m('cmd-after-attempt'), { name: 'caa', relation: 'after', toMiddleware: attempt });
    k.addRelativeTo(m('cmd-before-cbf'), { name: 'cbcbf', relation: 'before', toMiddleware: 'cbf' });
    // Before the first send the command's stack has the plugin's two (shaped) entries and its two relatives.
    expect(reshapeMiddlewareStack(command.middlewareStack)).toBe(4);
    await client.send(command);
    const expected = perCall(log, '5');
    expect(expected.map((l) => l.split(' ')[0])).toEqual(['cmd-before-cbf', 'client-before-finops', 'client-after-finops', 'client-build', 'cmd-after-attempt']);
    const identified = command.middlewareStack.identify();
    log.length = 0;
    expect(reshapeMiddlewareStack(command.middlewareStack)).toBeGreaterThan(2);
    expect(command.middlewareStack.identify()).toEqual(identified);
    await client.send(command);
    expect(perCall(log, '5')).toEqual(expected);
    expect(command.middlewareStack.identify()).toEqual(identified);
    log.length = 0;
    await client.send(command);
    expect(perCall(log, '5')).toEqual(expected);
    expect(records.map((r) => [r.inputTokens, r.outputTokens])).toEqual([
      [5, 50],
      [5, 50],
      [5, 50],
    ]);
  });
});

describe('reshapeMiddlewareStack on stacks it cannot handle', () => {
  it('answers 0 without throwing for things that are not stacks (null, a number, {}, an object with identify only, a stack whose identify throws)', () => {
    // Checks: (c) for inputs that fail while reading.
    for (const odd of [null, undefined, 42, {}, { identify: () => [] }, { identify: () => { throw new Error('x'); }, applyToStack: () => undefined }])
      expect(reshapeMiddlewareStack(asStack(odd))).toBe(0);
  });

  it('puts the originals back when identify() fails or disagrees after re-adding, and the calls still run as before', async () => {
    // Checks: the restore path on a real stack whose re-added state is judged wrong.
    server.use(on('converse', () => converseReply()));
    for (const mode of ['throws', 'differs'] as const) {
      const log: string[] = [];
      const { records, onUsage } = recorder();
      const client = makeClient(bedrockFinOps({ onUsage }));
      addEverything(client.middlewareStack, log);
      await send(client);
      const ran = [...log];
      const before = snapshot(client.middlewareStack);
      const identified = client.middlewareStack.identify();
      let identifies = 0;
      const proxy = new Proxy(client.middlewareStack, {
        get: (target, key, receiver) => {
          if (key !== 'identify') return Reflect.get(target, key, receiver) as unknown;
          return () => {
            if (++identifies === 2) {
              if (mode === 'throws') throw new Error('no');
              return ['something else'];
            }
            return target.identify();
          };
        },
      });
      expect(reshapeMiddlewareStack(proxy)).toBe(0);
      expect(snapshot(client.middlewareStack)).toEqual(before);
      expect(client.middlewareStack.identify()).toEqual(identified);
      expect(shapedCount(client.middlewareStack)).toBe(2);
      log.length = 0;
      await send(client);
      expect(log).toEqual(ran);
      expect(records).toHaveLength(2);
    }
  });

  it('puts the originals back when one remove() throws once midway', () => {
    // Checks: the restore path when the first pass fails after removing some entries.
    const { client, before, proxy } = refusingRemovals((n) => n === 3);
    expect(reshapeMiddlewareStack(proxy)).toBe(0);
    expect(snapshot(client.middlewareStack)).toEqual(before);
  });

  // Was: the put-back pass ran outside any try. A stack whose remove() keeps throwing after some
  // calls made reshapeMiddlewareStack throw, and the entries removed before the failure were gone
  // (the SDK's serializerMiddleware and deserializerMiddleware: the client could no longer make a
  // call). Now: 0, no throw, no entry lost or doubled. The two it did let go are added back at the
  // end of their step (a stack that refuses removals cannot be put back in its old order).
  it('a stack whose remove() throws from its 3rd call on: no throw, answers 0, no entry lost or doubled', () => {
    const { client, before, proxy } = refusingRemovals((n) => n >= 3);
    let answer: unknown;
    try {
      answer = reshapeMiddlewareStack(proxy);
    } catch (error) {
      answer = error;
    }
    const missing = before.filter((e) => !snapshot(client.middlewareStack).some((x) => x.middleware === e.middleware)).map((e) => e.options.name);
    expect({ answer, missing }).toEqual({ answer: 0, missing: [] });
    const key = (e: { middleware: unknown; options: Options }): string => JSON.stringify(e);
    expect(snapshot(client.middlewareStack).map(key).sort()).toEqual(before.map(key).sort());
  });

  // Was: the same unguarded put-back: a read-only stack (it can be read back, but has no
  // remove/add) made reshapeMiddlewareStack throw a TypeError instead of answering 0.
  it('a readable stack without remove/add: no throw, answers 0', () => {
    const readOnly = {
      identify: () => ['m - build'],
      applyToStack: (to: { add(m: unknown, o: Options): void }) => to.add(() => undefined, { name: 'm', step: 'build' }),
    };
    expect(() => reshapeMiddlewareStack(asStack(readOnly))).not.toThrow();
  });

  // Was a bug, on the SDK's own stack. The SDK lets an absolute and a relative entry share a name (the
  // later one added with override: true; override only looks among entries of its own kind). Such
  // a stack cannot be sent as is (the SDK's per-call clone re-adds it absolute-first and throws
  // "Duplicate middleware name"), but it is repairable: remove('dup') and calls run, with the
  // user's other middlewares. The first version failed the same way and its put-back failed again:
  // it threw, and the relative entry with the shared name and every relative entry after it were
  // gone (userBefore, placed before the plugin, no longer ran after the repair). Now a name on two
  // entries makes it answer 0 before changing anything.
  it('an absolute and a relative entry sharing a name (a state the SDK allows): no throw, stack unchanged', async () => {
    server.use(on('converse', () => converseReply()));
    const log: string[] = [];
    const m = marker(log);
    const build = () => {
      const client = makeClient(bedrockFinOps({}));
      const s = loose(client.middlewareStack);
      s.addRelativeTo(m('relative-dup'), { name: 'dup', relation: 'after', toMiddleware: 'loggerMiddleware' });
      s.add(m('absolute-dup'), { name: 'dup', step: 'build', override: true });
      s.addRelativeTo(m('before-finops'), { name: 'userBefore', relation: 'before', toMiddleware: FINOPS_MIDDLEWARE.name });
      return client;
    };
    // Without a reshape: the repair works and userBefore runs.
    const plain = build();
    expect(() => {
      void send(plain);
    }).toThrow(/Duplicate middleware name 'dup'/);
    plain.middlewareStack.remove('dup');
    await send(plain);
    expect(log.map((l) => l.split(' ')[0])).toEqual(['before-finops']);
    log.length = 0;

    const client = build();
    const before = snapshot(client.middlewareStack);
    let answer: unknown;
    try {
      answer = reshapeMiddlewareStack(client.middlewareStack);
    } catch (error) {
      answer = (error as Error).message;
    }
    const unchanged = snapshot(client.middlewareStack).length === before.length;
    client.middlewareStack.remove('dup');
    await send(client);
    expect({ answer, unchanged, ran: log.map((l) => l.split(' ')[0]) }).toEqual({ answer: 0, unchanged: true, ran: ['before-finops'] });
  });

  // Was a bug (bookkeeping only, calls unaffected), reachable through public stack calls. Removing
  // an entry by reference drops its names from the SDK's name set even when another entry still
  // carries one, so a second absolute entry of that name can then be added. The SDK's per-call
  // clone re-adds both and the later (override: true) splices out the first, so only it runs. The
  // first version did the same in place, then its put-back lost the entry again, and it answered 0
  // ("nothing was changed") with one entry fewer. Now a name on two entries makes it answer 0
  // before changing anything.
  it('two absolute entries of one name (after a remove by reference freed the name): answers 0 and the stack keeps both', async () => {
    server.use(on('converse', () => converseReply()));
    const log: string[] = [];
    const m = marker(log);
    const client = makeClient(bedrockFinOps({}));
    const s = loose(client.middlewareStack);
    const temp = m('temp');
    s.add(m('first-x'), { name: 'x', step: 'build' });
    s.addRelativeTo(temp, { name: 'x', relation: 'after', toMiddleware: 'x', override: true });
    s.remove(temp);
    s.add(m('second-x'), { name: 'x', step: 'build', override: true });
    expect(client.middlewareStack.identify().filter((e) => e === 'x - build')).toHaveLength(2);
    await send(client);
    // The SDK's own per-call clone already runs only the second.
    const ran = [...log];
    expect(ran.map((l) => l.split(' ')[0])).toEqual(['second-x']);
    const before = snapshot(client.middlewareStack);
    const identified = client.middlewareStack.identify();
    const answer = reshapeMiddlewareStack(client.middlewareStack);
    log.length = 0;
    await send(client);
    expect(log).toEqual(ran);
    expect(answer).toBe(0);
    expect(client.middlewareStack.identify()).toEqual(identified);
    expect(snapshot(client.middlewareStack)).toEqual(before);
  });
});
