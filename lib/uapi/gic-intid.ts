// INTID ranges and helpers as the selftests name them (tools/testing/selftests/kvm/include/arm64/gic.h).

export const MIN_SGI = 0;
export const MIN_PPI = 16;
export const MIN_SPI = 32;
export const MAX_SPI = 1019;
export const IAR_SPURIOUS = 1023;

/** INTID_IS_SGI(intid): 0 <= intid < MIN_PPI */
export function INTID_IS_SGI(intid: number): boolean {
  return intid >= 0 && intid < MIN_PPI;
}
/** INTID_IS_PPI(intid): MIN_PPI <= intid < MIN_SPI */
export function INTID_IS_PPI(intid: number): boolean {
  return intid >= MIN_PPI && intid < MIN_SPI;
}
/** INTID_IS_SPI(intid): MIN_SPI <= intid <= MAX_SPI */
export function INTID_IS_SPI(intid: number): boolean {
  return intid >= MIN_SPI && intid <= MAX_SPI;
}
