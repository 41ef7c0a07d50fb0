// Test doubles of the runtime, for the unit tests of every package.
export { FakeClock } from './fake-clock.ts';
