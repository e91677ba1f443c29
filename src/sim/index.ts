/** The Cloud API simulator: a local stand-in for Meta's messaging surface. */
export { startSimulator, highResClock, type Simulator, type SimulatorOptions } from './simulator.js';
export { runSimulateCommand, parseSimulateArgs } from './command.js';
export { parseSimConfig, loadSimConfigFile, SimConfigSchema, type SimConfig, type SimConfigInput, type SimFaults, type SimNumber } from './config.js';
export type { SimStats, InboundInput } from './engine.js';
export { asciiJson, hubSignature256 } from './ascii-json.js';
