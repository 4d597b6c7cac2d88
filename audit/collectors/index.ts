// Every collector the checklists may name, by name.
import { HOST_COLLECTORS, type HostCollector } from './host.js';
import { SUITE_COLLECTORS, type SuiteCollector } from './suite.js';

export type Collector = HostCollector | SuiteCollector;
export const COLLECTORS: ReadonlyMap<string, Collector> = new Map<string, Collector>([...HOST_COLLECTORS, ...SUITE_COLLECTORS].map((c) => [c.name, c]));
export const COLLECTOR_NAMES: ReadonlySet<string> = new Set(COLLECTORS.keys());
export { HOST_COLLECTORS, SUITE_COLLECTORS };
export * from './host.js';
export * from './suite.js';
export * from './types.js';
