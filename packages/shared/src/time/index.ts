// filled in by the runtime work (Clock, systemClock, ManualClock); see ../../README.md
export {};
