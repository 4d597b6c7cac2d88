// agents: what runs in each network zone: the SNMP poller and trap receiver,
// the syslog receivers, the outbox, and the agent that ties them together.
export { Agent, MonitorEndpoints, monitorUrls, loadAgentConfig, ensureIdentity, AgentConfigSchema, type AgentConfig, type AgentLog, type AgentStatus } from './agent.js';
