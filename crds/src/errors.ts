// The typed error every package throws: a stable code (ACP_ERR_*) used in
// HTTP responses, audit records, metric labels and Event reasons alike,
// plus a message for people. Pure.

export class AcpError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcpError';
    this.code = code;
    this.details = details;
  }
}

export const isAcpError = (e: unknown): e is AcpError => e instanceof AcpError;

/** A message safe to show: the error's message, or its string form. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
