// monitor: inventory, ingest, metrics/log/event stores, node status, the status page.
export * from './records.js';
