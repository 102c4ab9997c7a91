import { BedrockRuntimeClient, ConverseCommand, type ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { bedrockFinOps, type BedrockFinOps, type BedrockFinOpsOptions } from '../../src/index.js';
import { SimulatorEngine, simulatorRequestHandler } from '../../src/testing/index.js';

/** The plugin on a real BedrockRuntimeClient answered in-process by the simulator. */
export function simulated(options: BedrockFinOpsOptions, engine = new SimulatorEngine()): { finops: BedrockFinOps; call: (text?: string, maxTokens?: number) => Promise<ConverseCommandOutput> } {
  const finops = bedrockFinOps(options);
  const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: simulatorRequestHandler(engine) });
  client.middlewareStack.use(finops);
  return {
    finops,
    call: (text = 'hello world', maxTokens = 10) =>
      client.send(new ConverseCommand({ modelId: 'amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens } })),
  };
}
