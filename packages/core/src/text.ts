/**
 * UTF-8 through the platform's TextEncoder/TextDecoder (every runtime onnx-vae supports has them; core's compiler
 * settings include no DOM or Node types, hence the cast).
 *
 * @internal
 */
interface TextCodecs {
  TextEncoder: new () => { encode(text: string): Uint8Array };
  TextDecoder: new (label?: string, options?: { fatal: boolean }) => { decode(bytes: Uint8Array): string };
}
const codecs = globalThis as unknown as TextCodecs;

/** @internal UTF-8 bytes of a string. */
export function utf8Encode(text: string): Uint8Array {
  return new codecs.TextEncoder().encode(text);
}

/** @internal A string from UTF-8 bytes (invalid sequences become U+FFFD). */
export function utf8Decode(bytes: Uint8Array): string {
  return new codecs.TextDecoder().decode(bytes);
}
