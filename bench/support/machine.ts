/** The machine a benchmark ran on: every benchmark prints this with its numbers. */
import os from 'node:os';

export interface MachineInfo {
  node: string;
  cpu: string;
  cores: number;
  platform: string;
  loadAvg1m: number;
}

export function machineInfo(): MachineInfo {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAvg1m: os.loadavg()[0] ?? 0,
  };
}

export function formatMachine(m: MachineInfo = machineInfo()): string {
  return `node ${m.node} | ${m.cpu} | ${m.cores} cores | ${m.platform} | load(1m) ${m.loadAvg1m.toFixed(2)}`;
}
