// Percent-encoding (RFC 3986 2.1) as the path and query checks read it:
// the value of one hex digit. Pure.

/** The value of the hex digit with char code `c`, or -1. */
export function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}
