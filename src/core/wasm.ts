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
  // Keys are 64-bit hashes as two int32 lanes (src/core/keyhash.ts); wasm reads them as u32.
  gcraCheck(hi: number, lo: number, ratePerSec: number, burst: number, nowMs: number): number;
  gcraTake(hi: number, lo: number, ratePerSec: number, burst: number, nowMs: number): number;
  /** count hash pairs in the input area (Int32 hi, lo per key); answers as f64 in the output area. */
  gcraTakeMany(count: number, ratePerSec: number, burst: number, nowMs: number): void;
  windowCount(hi: number, lo: number, windowMs: number, nowMs: number): number;
  windowTake(hi: number, lo: number, windowMs: number, limit: number, nowMs: number): number;
  uniqueCharge(scopeHi: number, scopeLo: number, memberHi: number, memberLo: number, limit: number, nowMs: number): number;
  uniqueRelease(scopeHi: number, scopeLo: number, memberHi: number, memberLo: number, nowMs: number): void;
  uniqueCount(scopeHi: number, scopeLo: number, nowMs: number): number;
  repeatCharge(scopeHi: number, scopeLo: number, groupHi: number, groupLo: number, memberHi: number, memberLo: number, windowMs: number, maxRecipients: number, nowMs: number): number;
  repeatTake(scopeHi: number, scopeLo: number, groupHi: number, groupLo: number, memberHi: number, memberLo: number, windowMs: number, maxRecipients: number, nowMs: number): number;
  repeatRelease(scopeHi: number, scopeLo: number, groupHi: number, groupLo: number, memberHi: number, memberLo: number, nowMs: number): void;
  tableCapacity(id: number): number;
  tableCount(id: number): number;
  tableFull(id: number): number;
  tableShareFull(id: number): number;
  /** 1 when the latest unique/repeat charge was refused for its scope's share. */
  lastShareRefused(): number;
  /** Live members one scope may hold in member table `id` (3 = uniqueMember, 5 = repeatMember); 0 = no bound. */
  setShare(id: number, maxLive: number): void;
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
