export { connectNats, natsCheck, type ConnectNatsOptions } from './connect.js';
export { bufferUtf8Encoder, useFastProtocolEncoder } from './protocol-encoder.js';
export {
  JsErrCode,
  jsErrCode,
  isNotFound,
  isAlreadyInUse,
  isNatsUnavailable,
  natsUnavailable,
} from './errors.js';
