// Placeholder: replaced by the WASM core.
export function version(): u32 {
  return 1;
}
