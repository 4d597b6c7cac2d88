// agents/snmp: what the agent knows about SNMP. A client (v1, v2c, v3 with
// SHA-2 and AES) whose walks print like net-snmp's tools, OID sets per
// device kind as data, the poller that turns devices into MetricPoints and
// EventRecords, and the trap/inform receiver.
//
// Units of the records: rates per second over the poll interval; system
// sysUpTime in seconds; highSpeedMbps in Mbit/s; sizes in bytes.

export { parseOid, compareOids, isUnder, instanceOf, WELL_KNOWN_OIDS, type Oid } from './oid.js';
export {
  decodeVarbind,
  decodeCounter64,
  formatValue,
  formatVarbind,
  formatTimeTicks,
  hexDump,
  isException,
  isPrintableOctets,
  octetsAsText,
  valueAsDetail,
  varbindToJson,
  MalformedValueError,
  type SnmpValue,
  type SnmpValueType,
  type Varbind,
  type VarbindJson,
  type ExceptionValue,
} from './values.js';
export {
  parseEndpoint,
  describeEndpoint,
  parseAuthProtocol,
  parsePrivProtocol,
  parseSecurityLevel,
  checkPassphrase,
  redactCredentials,
  AUTH_PROTOCOLS,
  PRIV_PROTOCOLS,
  SECURITY_LEVELS,
  DEFAULT_TIMING,
  type Endpoint,
  type AuthProtocol,
  type PrivProtocol,
  type SecurityLevel,
  type Credentials,
  type CommunityCredentials,
  type V3Credentials,
  type Timing,
} from './target.js';
export { SnmpSession, DEFAULT_MAX_REPETITIONS, type SessionOptions, type SessionCounters } from './client.js';
export {
  DEFAULT_OID_SETS,
  DEVICE_KINDS,
  BUILT_IN_GROUPS,
  MIB,
  mergeOidSets,
  groupsFor,
  type DeviceKind,
  type OidSets,
  type OidGroup,
  type ScalarGroup,
  type TableGroup,
  type FieldSpec,
  type Source,
} from './oid-sets.js';
export { classifyUptime, counterStep, ratePerSecond, maxOctetsForSpeed, TWO_32, TWO_64, type CounterSample, type CounterStep, type CounterWidth, type UptimeChange } from './counters.js';
export { SnmpPoller, type PollTarget, type PollerOptions, type PollerStats, type AgentRecord, type NodeInfo, type SnmpLogger } from './poller.js';
export { TrapReceiver, type TrapReceiverOptions, type TrapReceiverStats, type Rejection, type RejectionReason } from './traps.js';
