export { type Clock, type TimerHandle, systemClock, sleepOn, abortReason } from './clock.js';
export { ManualClock } from './manual-clock.js';
export { formatIsoTime } from './iso-time.js';
export { localDate, localTime } from './local-date.js';
export { type DurationStyle, formatDuration } from './format-duration.js';
export {
  type DeadlineSignal,
  deadlineSignal,
  deadlineSignalOn,
  isDeadlineAbort,
  requestFailure,
} from './request-deadline.js';
