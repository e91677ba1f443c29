/**
 * Loading build/core.wasm and the typed view of its raw exports (numbers only; see
 * assembly/index.ts). Memory grows once, inside init(); nothing allocates afterwards.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** The slice of the WebAssembly JS API used here (tsconfig's lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: unknown }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Raw exports of build/core.wasm. u32 results arrive as signed i32: read them with `>>> 0`. */
export interface CoreExports {
  memory: WasmMemory;
  init(gcraKeys: number, windowKeys: number, uniqueScopes: number, uniqueKeys: number, repeatGroups: number, repeatKeys: number, fullRetryMs: number): number;
  scratchPtr(): number;
  hashScratch(len: number): void;
  gcraCheck(len: number, ratePerSec: number, burst: number, nowMs: number): number;
  gcraTake(len: number, ratePerSec: number, burst: number, nowMs: number): number;
  gcraTakeMany(byteLength: number, count: number, ratePerSec: number, burst: number, nowMs: number): number;
  windowCount(len: number, windowMs: number, nowMs: number): number;
  windowTake(len: number, windowMs: number, limit: number, nowMs: number): number;
  uniqueCharge(scopeLen: number, recipientLen: number, limit: number, nowMs: number): number;
  uniqueRelease(scopeLen: number, recipientLen: number, nowMs: number): void;
  uniqueCount(scopeLen: number, nowMs: number): number;
  repeatCharge(scopeLen: number, fingerprintLen: number, recipientLen: number, windowMs: number, maxRecipients: number, nowMs: number): number;
  tableCapacity(id: number): number;
  tableCount(id: number): number;
  tableFull(id: number): number;
  tableBytes(id: number): number;
}

/** Scratch geometry (mirrors assembly/scratch.ts). */
export const INPUT_BYTES = 192 * 1024;
export const OUTPUT_BYTES = 64 * 1024;

/** build/core.wasm at the project root: two levels up from src/core, three from dist/src/core. */
const WASM_URL = [new URL('../../build/core.wasm', import.meta.url), new URL('../../../build/core.wasm', import.meta.url)]
  .find((url) => existsSync(url)) ?? new URL('../../build/core.wasm', import.meta.url);
let compiled: Promise<object> | undefined;

/** A fresh instance (own memory) of the compiled core; the module is compiled once per process. */
export async function instantiateCore(): Promise<CoreExports> {
  compiled ??= readFile(WASM_URL).then((bytes) => wasm.compile(bytes));
  const instance = await wasm.instantiate(await compiled, {
    env: {
      abort(): never {
        throw new Error('limits core aborted');
      },
    },
  });
  return instance.exports as unknown as CoreExports;
}
