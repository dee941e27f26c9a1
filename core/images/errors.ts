// Errors of the image library. Both carry `statusCode`, so the API's error handler (daemon/api/errors.ts)
// answers with it and the message.

/** The file is refused (format, corruption, cannot boot, too large): importing it again fails again. HTTP 400. */
export class ImageRefusedError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(message);
    this.name = 'ImageRefusedError';
  }
}

/** A request the library cannot serve: no such image (404), name taken (409), no data directory (503), … */
export class ImageError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'ImageError';
  }
}
