// The one place onnxruntime is imported. Browser builds map this file to ort.web.ts (package.json "browser").
export * as ort from 'onnxruntime-node';
