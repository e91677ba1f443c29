// The limits core's exports (numbers only across the boundary; see STYLE "The WASM boundary").
export { init, setShare, tableBytes, tableCapacity, tableCount, tableFull, tableShareFull } from './layout';
export { hashScratch, scratchPtr } from './scratch';
export { gcraCheck, gcraTake, gcraTakeMany } from './gcra';
export { windowCount, windowTake } from './window';
export { uniqueCharge, uniqueCount, uniqueRelease } from './unique';
export { repeatCharge, repeatRelease, repeatTake } from './repeat';
export { lastShareRefused } from './distinct';
