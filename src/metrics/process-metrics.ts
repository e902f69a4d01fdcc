/**
 * The process's own health, under the names Prometheus client libraries use (`process_*`,
 * `nodejs_*`) so that existing dashboards read them: CPU, memory, open descriptors, event-loop delay.
 * Everything is read when scraped, except the event-loop delay, which Node samples on a timer
 * while `start()` is in force.
 */
import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MetricRegistry } from './registry.js';

/** Event-loop delay sampling interval (ms): fine enough to see a stall, a timer every 20 ms costs nothing. */
const LOOP_RESOLUTION_MS = 20;

export interface ProcessMetrics {
  /** Begins sampling event-loop delay (idempotent). */
  start(): void;
  stop(): void;
}

export function registerProcessMetrics(registry: MetricRegistry): ProcessMetrics {
  const cpuUser = registry.counter('process_cpu_user_seconds_total', 'User CPU time spent, in seconds.').labels();
  const cpuSystem = registry.counter('process_cpu_system_seconds_total', 'System CPU time spent, in seconds.').labels();
  const cpuTotal = registry.counter('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.').labels();
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory size, in bytes.').labels();
  const startTime = registry.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.').labels();
  const openFds = registry.gauge('process_open_fds', 'Open file descriptors (NaN without /proc).').labels();
  const heapUsed = registry.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.').labels();
  const heapTotal = registry.gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved, in bytes.').labels();
  const external = registry.gauge('nodejs_external_memory_bytes', 'Memory held by C++ objects bound to JavaScript (Buffers, TLS), in bytes.').labels();
  const loopHelp = 'since the previous scrape, in seconds (sampled every 20 ms; 0 when not sampled).';
  const loopMean = registry.gauge('nodejs_eventloop_lag_mean_seconds', `Mean event-loop delay ${loopHelp}`).labels();
  const loopP50 = registry.gauge('nodejs_eventloop_lag_p50_seconds', `Median event-loop delay ${loopHelp}`).labels();
  const loopP99 = registry.gauge('nodejs_eventloop_lag_p99_seconds', `99th percentile of event-loop delay ${loopHelp}`).labels();
  const loopMax = registry.gauge('nodejs_eventloop_lag_max_seconds', `Longest event-loop delay ${loopHelp}`).labels();
  registry.gauge('nodejs_version_info', 'The Node.js version running the server.', ['version']).labels({ version: process.version }).set(1);
  startTime.set(Math.round(Date.now() / 1000 - process.uptime()));

  let loop: IntervalHistogram | undefined;
  registry.onScrape(() => {
    const cpu = process.cpuUsage();
    cpuUser.mirror(cpu.user / 1e6);
    cpuSystem.mirror(cpu.system / 1e6);
    cpuTotal.mirror((cpu.user + cpu.system) / 1e6);
    const memory = process.memoryUsage();
    rss.set(memory.rss);
    heapUsed.set(memory.heapUsed);
    heapTotal.set(memory.heapTotal);
    external.set(memory.external);
    openFds.set(countOpenFds());
    if (loop && loop.count > 0) {
      // The histogram is in nanoseconds; each scrape reports the interval since the last one.
      loopMean.set(loop.mean / 1e9);
      loopP50.set(loop.percentile(50) / 1e9);
      loopP99.set(loop.percentile(99) / 1e9);
      loopMax.set(loop.max / 1e9);
      loop.reset();
    }
  });
  return {
    start() {
      if (loop) return;
      loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
      loop.enable();
    },
    stop() {
      loop?.disable();
      loop = undefined;
    },
  };
}

function countOpenFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return NaN;
  }
}
