/**
 * The base of every error EEG-SAE throws on purpose. Its message names the file, the field and
 * what was expected; `options.cause` carries the error it wraps (a failed read, a parse error), so
 * `EEG_SAE_DEBUG=1` shows the whole chain. Subclasses exist only where a caller tells them apart,
 * and take their class name as `name` without restating it.
 */
export class EegSaeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
