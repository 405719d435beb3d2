/**
 * Why one item of a dataset could not be encoded. Bad items are recorded in `errors.jsonl` and never stop a job.
 */

/** Item error codes, one per kind of bad item. */
export const ITEM_ERRORS = Object.freeze({
  /** The file (or tar member) cannot be read: missing, no permission, a tar that ends early. */
  UNREADABLE: 'UNREADABLE',
  /** The bytes are not a decodable image (truncated, damaged, not an image format sharp reads). */
  CORRUPT: 'CORRUPT',
  /** The image is smaller than `minSize` on its shorter side. */
  TOO_SMALL: 'TOO_SMALL',
  /** Another input already has this key; the later one is skipped. */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** A WebDataset sample has no image member (`.jpg`, `.jpeg`, `.png`, `.webp`). */
  NO_IMAGE: 'NO_IMAGE',
  /** The encoder failed on this item's batch, and again on the item alone. */
  ENCODE_FAILED: 'ENCODE_FAILED',
} as const);
/** One of {@link ITEM_ERRORS}. */
export type ItemErrorCode = keyof typeof ITEM_ERRORS;

/** One line of `errors.jsonl`. */
export interface ItemError {
  /** The item's key. */
  readonly key: string;
  /** What went wrong. */
  readonly code: ItemErrorCode;
  /** Where the item came from: a path, or `TAR::MEMBER`. */
  readonly source: string;
  /** A readable explanation. */
  readonly message: string;
}

/** A bad item, thrown while reading or preprocessing it. @internal */
export class ItemFailure extends Error {
  /**
   * @param code - the item error code
   * @param message - what went wrong
   */
  constructor(
    readonly code: ItemErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ItemFailure';
  }
}
