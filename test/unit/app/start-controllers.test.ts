import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type RunnableController, startControllers } from '../../../src/app/start-controllers.ts';
import { StartupStack } from '../../../src/app/startup-stack.ts';

const log = pino({ level: 'silent' });

/** A controller that records its start and stop, and whose start may throw. */
function controller(name: string, events: string[], startFails = false): RunnableController {
  return {
    start() {
      events.push(`start ${name}`);
      if (startFails) throw new Error(`${name} failed to start`);
    },
    async stop() {
      events.push(`stop ${name}`);
      return { drained: true };
    },
  };
}

describe('startControllers', () => {
  it('a controller whose start throws leaves none of those started before it running', async () => {
    const stack = new StartupStack(log);
    const events: string[] = [];
    const controllers = [controller('first', events), controller('second', events, true)];
    expect(() => startControllers(controllers, undefined, stack, log)).toThrow('second failed to start');
    await stack.unwind(1_000);
    expect(events).toEqual(['start first', 'start second', 'stop first', 'stop second']);
  });

  it('stops every controller it started when the stack unwinds', async () => {
    const stack = new StartupStack(log);
    const events: string[] = [];
    startControllers([controller('a', events), controller('b', events)], undefined, stack, log);
    expect(stack.started).toEqual(['controllers and buckets']);
    await stack.unwind(1_000);
    expect(events).toEqual(['start a', 'start b', 'stop a', 'stop b']);
  });
});
