// Types of this package's `#ort` import (package.json "imports"): onnxruntime-web's, whichever build it resolves to.
declare module '#ort' {
  export * from 'onnxruntime-web';
}
