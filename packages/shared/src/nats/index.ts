export { connectNats, natsCheck, type ConnectNatsOptions } from './connect.js';
export {
  JsErrCode,
  jsErrCode,
  isNotFound,
  isAlreadyInUse,
  isNatsUnavailable,
  natsUnavailable,
} from './errors.js';
