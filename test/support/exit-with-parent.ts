/**
 * Preloaded (`--import`) into every long-running process a test or the benchmark spawns.
 *
 * When ava times out a test file it kills the worker, and a killed worker runs no exit hook, so
 * the schedulers it spawned would be reparented and run on after the suite, holding consumer-group
 * seats and CPU on a shared machine. Such an orphan has no one left to report to: it goes at once.
 */
const parentPid = process.ppid;

const watchdog = setInterval(() => {
  if (process.ppid !== parentPid) process.kill(process.pid, 'SIGKILL');
}, 250);
watchdog.unref();
