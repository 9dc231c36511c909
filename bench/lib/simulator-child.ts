/** A simulator in a child process, driven by its parent over IPC (see simulator-host.ts). */
import { startSimulator } from '../../src/simulator/server.js';
import type { Simulator } from '../../src/simulator/server.js';
import type { FromChild, ToChild } from './simulator-host.js';
import { statsOf } from './simulator-host.js';

let simulator: Simulator | undefined;

function reply(message: FromChild): void {
  process.send?.(message);
}

process.on('message', (message: ToChild) => {
  void (async () => {
    switch (message.type) {
      case 'start':
        try {
          simulator = await startSimulator({ ...message.options, host: '127.0.0.1' });
          reply({
            type: 'started',
            openaiBaseURL: simulator.openaiBaseURL,
            anthropicBaseURL: simulator.anthropicBaseURL,
          });
        } catch (error) {
          reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
        }
        return;
      case 'stats':
        if (simulator) {
          const cpu = process.cpuUsage();
          const processCpuMs = (cpu.user + cpu.system) / 1000;
          reply({ type: 'stats', id: message.id, stats: { ...statsOf(simulator), processCpuMs } });
        }
        return;
      case 'reset':
        simulator?.reset();
        reply({ type: 'done', id: message.id });
        return;
      case 'close':
        await simulator?.close();
        reply({ type: 'done', id: message.id });
        process.disconnect();
        return;
    }
  })();
});

// The parent is gone: nothing will ever ask for this simulator again.
process.on('disconnect', () => {
  void (simulator?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
