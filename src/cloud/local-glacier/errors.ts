// Glacier's refusals: an HTTP status and a JSON body { code, message, type }.
export class GlacierError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Client' | 'Server' = 'Client',
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new GlacierError(404, 'ResourceNotFoundException', message);
export const invalid = (message: string) => new GlacierError(400, 'InvalidParameterValueException', message);
export const missing = (message: string) => new GlacierError(400, 'MissingParameterValueException', message);
export const denied = (message: string) => new GlacierError(403, 'AccessDeniedException', message);
