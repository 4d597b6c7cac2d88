// Types for the parts of net-snmp 3.x we use (the package ships none).
// Only what agents/snmp calls is declared; values follow net-snmp's README.

declare module 'net-snmp' {
  import type { EventEmitter } from 'node:events';
  import type { RemoteInfo, Socket, SocketType } from 'node:dgram';

  export const Version1: 0;
  export const Version2c: 1;
  export const Version3: 3;

  export const ObjectType: {
    readonly Boolean: 1;
    readonly Integer: 2;
    readonly BitString: 3;
    readonly OctetString: 4;
    readonly Null: 5;
    readonly OID: 6;
    readonly IpAddress: 64;
    readonly Counter: 65;
    readonly Counter32: 65;
    readonly Gauge: 66;
    readonly Gauge32: 66;
    readonly Unsigned32: 66;
    readonly TimeTicks: 67;
    readonly Opaque: 68;
    readonly Counter64: 70;
    readonly NoSuchObject: 128;
    readonly NoSuchInstance: 129;
    readonly EndOfMibView: 130;
  };

  export const PduType: {
    readonly GetResponse: 162;
    readonly Trap: 164;
    readonly InformRequest: 166;
    readonly TrapV2: 167;
    readonly Report: 168;
  };

  export const SecurityLevel: { readonly noAuthNoPriv: 1; readonly authNoPriv: 2; readonly authPriv: 3 };
  export const AuthProtocols: { readonly md5: '2'; readonly sha: '3'; readonly sha224: '4'; readonly sha256: '5'; readonly sha384: '6'; readonly sha512: '7' };
  export const PrivProtocols: { readonly des: '2'; readonly aes: '4'; readonly aes256b: '6'; readonly aes256r: '8' };
  export const ErrorStatus: Record<string, number> & Record<number, string>;
  export const ResponseInvalidCode: {
    readonly EIp4AddressSize: 1;
    readonly EUnknownObjectType: 2;
    readonly EUnknownPduType: 3;
    readonly ECouldNotDecrypt: 4;
    readonly EAuthFailure: 5;
    readonly EReqResOidNoMatch: 6;
    readonly EOutOfOrder: 8;
    readonly EVersionNoMatch: 9;
    readonly ECommunityNoMatch: 10;
    readonly EUnexpectedReport: 11;
    readonly EResponseNotHandled: 12;
    readonly EUnexpectedResponse: 13;
    readonly ENotInTimeWindow: 14;
    readonly EBadVarbindList: 15;
  };

  /** What net-snmp hands back: `value` depends on `type` (Buffer for OctetString, Opaque and Counter64). */
  export interface RawVarbind {
    oid: string;
    type: number;
    value: unknown;
  }

  export interface OutgoingVarbind {
    oid: string;
    type: number;
    value: unknown;
  }

  export interface DgramModule {
    createSocket(type: SocketType): Socket;
  }

  export interface SessionOptions {
    port?: number;
    retries?: number;
    timeout?: number;
    backoff?: number;
    transport?: 'udp4' | 'udp6';
    trapPort?: number;
    version?: 0 | 1 | 3;
    backwardsGetNexts?: boolean;
    reportOidMismatchErrors?: boolean;
    idBitsSize?: 16 | 32;
    context?: string;
    dgramModule?: DgramModule;
  }

  export interface V3User {
    name: string;
    level: 1 | 2 | 3;
    authProtocol?: string;
    authKey?: string;
    privProtocol?: string;
    privKey?: string;
  }

  export type ResponseCallback = (error: Error | null, varbinds?: RawVarbind[]) => void;
  export type BulkCallback = (error: Error | null, varbinds?: Array<RawVarbind | RawVarbind[]>) => void;

  export interface Session extends EventEmitter {
    target: string;
    port: number;
    get(oids: string[], callback: ResponseCallback): Session;
    getNext(oids: string[], callback: ResponseCallback): Session;
    getBulk(oids: string[], nonRepeaters: number, maxRepetitions: number, callback: BulkCallback): Session;
    trap(typeOrOid: number | string, varbinds: OutgoingVarbind[], options: { agentAddr?: string; upTime?: number }, callback: (error: Error | null) => void): Session;
    inform(typeOrOid: number | string, varbinds: OutgoingVarbind[], options: { upTime?: number }, callback: ResponseCallback): Session;
    /** Internal but stable since 1.x: fails every outstanding request with `error`. */
    cancelRequests(error: Error): void;
    close(): Session;
  }

  export function createSession(target: string, community: string, options?: SessionOptions): Session;
  export function createV3Session(target: string, user: V3User, options?: SessionOptions): Session;

  export interface Notification {
    pdu: {
      type: number;
      id: number;
      varbinds: RawVarbind[];
      scoped: boolean;
      community?: string;
      user?: string;
      /** v1 Trap-PDU fields. */
      enterprise?: string;
      agentAddr?: string;
      generic?: number;
      specific?: number;
      upTime?: number;
    };
    rinfo: RemoteInfo;
  }

  export interface ReceiverOptions {
    port?: number;
    address?: string | null;
    transport?: 'udp4' | 'udp6';
    disableAuthorization?: boolean;
    includeAuthentication?: boolean;
    engineID?: string;
    dgramModule?: DgramModule;
  }

  export interface Authorizer {
    addCommunity(community: string): void;
    addUser(user: V3User): void;
  }

  export interface Receiver {
    getAuthorizer(): Authorizer;
    close(callback?: (socket: unknown) => void): void;
  }

  export function createReceiver(options: ReceiverOptions, callback: (error: (Error & { rinfo?: RemoteInfo; error?: Error }) | null, notification?: Notification) => void): Receiver;

  export class ResponseInvalidError extends Error {
    code: number;
    info?: unknown;
  }
  export class RequestFailedError extends Error {
    status: number;
  }
  export class RequestTimedOutError extends Error {}
  export class RequestInvalidError extends Error {}

  export interface MibProviderDefinition {
    name: string;
    type: 1 | 2;
    oid: string;
    scalarType?: number;
    maxAccess?: number;
    tableColumns?: Array<{ number: number; name: string; type: number; maxAccess?: number }>;
    tableIndex?: Array<{ columnName: string }>;
    /** The provider whose index an AUGMENTS table shares. */
    tableAugments?: string;
    handler?: (mibRequest: { done(): void }) => void;
  }

  export interface Mib {
    registerProvider(definition: MibProviderDefinition): void;
    setScalarValue(name: string, value: unknown): void;
    addTableRow(name: string, row: unknown[]): void;
    setTableSingleCell(name: string, column: number, rowIndex: unknown[], value: unknown): void;
  }

  export const MibProviderType: { readonly Scalar: 1; readonly Table: 2 };
  export const MaxAccess: { readonly 'not-accessible': 0; readonly 'read-only': 2 };

  export interface Agent {
    getMib(): Mib;
    getAuthorizer(): Authorizer;
    close(callback?: () => void): void;
  }

  export function createAgent(options: { port?: number; address?: string | null; transport?: 'udp4' | 'udp6'; disableAuthorization?: boolean; dgramModule?: DgramModule }, callback: (error: Error | null, data?: unknown) => void, mib?: Mib): Agent;
}
