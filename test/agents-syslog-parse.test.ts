// The syslog parsers on their own: the examples of RFC 5424 section 6.5 and
// RFC 3164 section 5.4, the variants real devices send (no hostname,
// app[pid], Cisco sequence numbers and "*Mar  1 00:00:01.123:", Huawei and
// H3C), year-less timestamps, structured-data escapes, and every kind of
// bad input, which must come back as a typed rejection, never a throw.
// Plus the stream framer fed byte by byte.

import { describe, expect, it } from 'vitest';
import { parseSyslog, SyslogStreamFramer, type ParseOutcome, type Parsed } from '../agents/syslog/index.js';

const RECEIVED_AT = Date.UTC(2026, 10, 23, 12, 0, 0); // 2026-11-23T12:00:00Z
const CHINA = 480; // UTC+8, the offset BSD timestamps are read in below
const BOM = '\uFEFF';

function parse(text: string | Buffer, options: { maxMessageBytes?: number; receivedAt?: number } = {}): ParseOutcome {
  return parseSyslog(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, { receivedAt: RECEIVED_AT, rfc3164OffsetMinutes: CHINA, ...options });
}

function parsed(text: string | Buffer, options: { maxMessageBytes?: number; receivedAt?: number } = {}): Parsed {
  const outcome = parse(text, options);
  if (!outcome.ok) throw new Error(`expected to parse, got ${outcome.reason}: ${outcome.detail}`);
  return outcome;
}

const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());

describe('RFC 5424 section 6.5 examples', () => {
  it('example 1: no structured data, BOM before the message', () => {
    const { fields } = parsed(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`);
    expect(fields).toEqual({
      format: 'rfc5424', facility: 4, severity: 'critical', time: Date.parse('2003-10-11T22:14:15.003Z'),
      host: 'mymachine.example.com', app: 'su', procId: null, msgId: 'ID47',
      message: "'su root' failed for lonvick on /dev/pts/8", structuredData: {},
    });
  });

  it('example 2: microseconds and a negative offset', () => {
    const { fields } = parsed("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
    expect(iso(fields.time)).toBe('2003-08-24T12:14:15.000Z');
    expect(fields).toMatchObject({ facility: 20, severity: 'notice', host: '192.0.2.1', app: 'myproc', procId: '8710', msgId: null, message: "%% It's time to make the do-nuts." });
  });

  it('example 3: structured data and a message', () => {
    const { fields } = parsed(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ${BOM}An application event log entry...`);
    expect(fields.structuredData).toEqual({ 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' } });
    expect(fields.message).toBe('An application event log entry...');
    expect(fields.app).toBe('evntslog');
  });

  it('example 4: two elements and no message', () => {
    const { fields } = parsed('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]');
    expect(fields.structuredData).toEqual({
      'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
      'examplePriority@32473': { class: 'high' },
    });
    expect(fields.message).toBe('');
  });
});

describe('RFC 5424 details', () => {
  it('NILVALUE everywhere: no time in the message, every field null', () => {
    const { fields } = parsed('<13>1 - - - - - - just text');
    expect(fields).toMatchObject({ time: null, host: null, app: null, procId: null, msgId: null, message: 'just text', structuredData: {} });
  });

  it('escaped \\" \\\\ and \\] in a value; any other backslash is kept', () => {
    const { fields } = parsed('<13>1 - h a - - [x@1 q="say \\"hi\\"" path="C:\\\\dir" br="a\\]b" other="tab\\t"] m');
    expect(fields.structuredData['x@1']).toEqual({ q: 'say "hi"', path: 'C:\\dir', br: 'a]b', other: 'tab\\t' });
    expect(fields.message).toBe('m');
  });

  it('an unescaped ] inside a quoted value does not end the element', () => {
    expect(parsed('<13>1 - h a - - [x@1 v="a]b"] m').fields.structuredData).toEqual({ 'x@1': { v: 'a]b' } });
  });

  it('a repeated PARAM-NAME keeps every value; "__proto__" is just a name', () => {
    const { fields } = parsed('<13>1 - h a - - [x@1 ip="10.0.0.1" ip="10.0.0.2"][__proto__ __proto__="v"]');
    expect(fields.structuredData['x@1']).toEqual({ ip: '10.0.0.1,10.0.0.2' });
    expect(Object.getOwnPropertyDescriptor(fields.structuredData, '__proto__')?.value).toEqual({ ['__proto__']: 'v' });
    expect(Object.getPrototypeOf(fields.structuredData)).toBe(Object.prototype);
  });

  it('what logger --rfc5424 sends: +00:00 offset, timeQuality, an SD-ID of our choosing', () => {
    const { fields } = parsed('<132>1 2026-11-23T16:24:47.887403+00:00 vm APP - ID47 [timeQuality tzKnown="1" isSynced="0"][zoo@123 tiger="hungry"] hello sd');
    expect(iso(fields.time)).toBe('2026-11-23T16:24:47.887Z');
    expect(fields).toMatchObject({ facility: 16, severity: 'warning', host: 'vm', app: 'APP', msgId: 'ID47', message: 'hello sd' });
    expect(fields.structuredData).toEqual({ timeQuality: { tzKnown: '1', isSynced: '0' }, 'zoo@123': { tiger: 'hungry' } });
  });

  it('a message keeps its own spacing and a BOM only at its start is dropped', () => {
    expect(parsed(`<13>1 - h a - - -  two  spaces ${BOM}`).fields.message).toBe(` two  spaces ${BOM}`);
  });
});

describe('RFC 3164 section 5.4 examples', () => {
  it('example 1', () => {
    const { fields } = parsed("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    expect(fields).toEqual({
      format: 'rfc3164', facility: 4, severity: 'critical', time: Date.parse('2026-10-11T22:14:15+08:00'),
      host: 'mymachine', app: 'su', procId: null, msgId: null, message: "'su root' failed for lonvick on /dev/pts/8", structuredData: {},
    });
  });

  it('example 2: a relayed message with an IP address for hostname and no TAG', () => {
    const { fields } = parsed('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!');
    expect(fields).toMatchObject({ facility: 1, severity: 'notice', host: '10.0.0.99', app: null, message: 'Use the BFG!' });
    expect(iso(fields.time)).toBe('2026-02-05T09:32:18.000Z');
  });

  it('example 3: timezone and year after the time, TAG[PID]', () => {
    const { fields } = parsed("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%");
    expect(fields).toMatchObject({ facility: 20, severity: 'notice', host: 'mymachine', app: 'myproc', procId: '10' });
    expect(fields.message).toMatch(/^%% It's time to make the do-nuts\.  %%  Ingredients: Mix=OK.* # %%$/);
    // CST is ambiguous (China or US Central): the configured offset applies.
    expect(iso(fields.time)).toBe('1987-08-23T21:34:00.000Z');
  });

  it('example 4: year first and a "TZ-6" zone', () => {
    const { fields } = parsed("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
    expect(fields).toMatchObject({ facility: 0, severity: 'emergency', host: 'scapegoat.dmz.example.org' });
    expect(iso(fields.time)).toBe('1990-10-22T16:52:01.000Z');
    expect(fields.message).toBe("10.1.2.3 sched[0]: That's All Folks!");
  });
});

describe('RFC 3164 as devices send it', () => {
  it('logger --rfc3164 with and without a PID', () => {
    expect(parsed('<132>Nov 23 16:24:47 vm APP: hello 3164').fields).toMatchObject({ facility: 16, severity: 'warning', host: 'vm', app: 'APP', procId: null, message: 'hello 3164' });
    expect(parsed('<132>Nov 23 16:24:47 vm APP[28125]: hello lf').fields).toMatchObject({ host: 'vm', app: 'APP', procId: '28125', message: 'hello lf' });
  });

  it('no hostname: the token after the timestamp is a TAG', () => {
    expect(parsed('<13>Nov 23 16:24:47 sshd[812]: Accepted publickey').fields).toMatchObject({ host: null, app: 'sshd', procId: '812', message: 'Accepted publickey' });
    expect(parsed('<13>Nov 23 16:24:47 kernel: eth0 link up').fields).toMatchObject({ host: null, app: 'kernel', message: 'eth0 link up' });
  });

  it('Cisco: sequence number, "*" (clock not set), milliseconds, the mnemonic as msgId', () => {
    const { fields } = parsed('<189>123: *Mar  1 00:00:01.123: %SYS-5-CONFIG_I: Configured from console by vty0');
    expect(fields).toMatchObject({ facility: 23, severity: 'notice', host: null, app: null, msgId: 'SYS-5-CONFIG_I', message: '%SYS-5-CONFIG_I: Configured from console by vty0' });
    expect(fields.structuredData).toEqual({ meta: { sequenceId: '123' } });
    expect(iso(fields.time)).toBe('2026-02-28T16:00:01.123Z');
  });

  it('Cisco with origin-id hostname and "UTC:" timezone', () => {
    const { fields } = parsed('<187>52: R1-core: Mar  1 00:00:01.123 UTC: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up');
    expect(fields).toMatchObject({ host: 'R1-core', severity: 'error', msgId: 'LINK-3-UPDOWN' });
    expect(iso(fields.time)).toBe('2026-03-01T00:00:01.123Z');
    expect(fields.structuredData).toEqual({ meta: { sequenceId: '52' } });
  });

  it('Huawei (year, numeric offset) and H3C (millis after a colon, year after the time)', () => {
    const huawei = parsed('<187>Mar  1 2024 00:00:01+08:00 HUAWEI %%01IFNET/4/LINK_STATE(l)[0]:The line protocol IP on the interface GigabitEthernet0/0/1 has entered the UP state.').fields;
    expect(huawei).toMatchObject({ host: 'HUAWEI', msgId: 'IFNET/4/LINK_STATE', app: null });
    expect(iso(huawei.time)).toBe('2024-02-29T16:00:01.000Z');
    const h3c = parsed('<188>Mar  1 00:00:01:123 2024 H3C %%10SHELL/5/SHELL_LOGIN: Console logged in.').fields;
    expect(h3c).toMatchObject({ host: 'H3C', msgId: 'SHELL/5/SHELL_LOGIN', severity: 'warning' });
    expect(iso(h3c.time)).toBe('2024-02-29T16:00:01.123Z');
  });

  it('an RFC 3339 timestamp in BSD form (rsyslog forwarding format)', () => {
    const { fields } = parsed('<13>2024-03-01T00:00:01.5+08:00 web01 nginx[77]: GET /');
    expect(iso(fields.time)).toBe('2024-02-29T16:00:01.500Z');
    expect(fields).toMatchObject({ host: 'web01', app: 'nginx', procId: '77', message: 'GET /' });
  });

  it('no header at all: the text is the message, the time is the time received', () => {
    expect(parsed('<13>just text').fields).toMatchObject({ time: null, host: null, app: null, message: 'just text' });
    expect(parsed('<13>1 packet dropped').fields).toMatchObject({ format: 'rfc3164', message: '1 packet dropped' }); // "1 " alone is not VERSION
    expect(parsed('<13>').fields).toMatchObject({ message: '' });
  });
});

describe('year-less timestamps resolve to the nearest past time', () => {
  const at = (utc: string) => ({ receivedAt: Date.parse(utc) });

  it('December received in January is last year', () => {
    expect(iso(parsed('<13>Dec 31 23:59:59 h a: x', at('2027-01-01T00:00:30Z')).fields.time)).toBe('2026-12-31T15:59:59.000Z');
  });

  it('a sender a little ahead of us (within a day) stays in this year; beyond a day it is last year', () => {
    // Received 2026-06-01 12:00 UTC = 20:00 in UTC+8.
    expect(iso(parsed('<13>Jun  1 20:05:00 h a: x', at('2026-06-01T12:00:00Z')).fields.time)).toBe('2026-06-01T12:05:00.000Z');
    expect(iso(parsed('<13>Jun  3 20:05:00 h a: x', at('2026-06-01T12:00:00Z')).fields.time)).toBe('2025-06-03T12:05:00.000Z');
  });

  it('January timestamps received on December 31st late at night belong to next year (clock ahead, within a day)', () => {
    expect(iso(parsed('<13>Jan  1 00:00:05 h a: x', at('2026-12-31T15:59:00Z')).fields.time)).toBe('2026-12-31T16:00:05.000Z');
  });

  it('Feb 29 goes to the last leap year', () => {
    expect(iso(parsed('<13>Feb 29 12:00:00 h a: x', at('2026-11-23T00:00:00Z')).fields.time)).toBe('2024-02-29T04:00:00.000Z');
  });
});

describe('bad input: a typed rejection with a reason, never a throw', () => {
  const cases: [string, string | Buffer, string, RegExp][] = [
    ['empty', '', 'empty', /empty/],
    ['only a newline', '\n', 'empty', /empty/],
    ['no PRI', 'hello world', 'missing-pri', /starts with "<PRI>"/],
    ['PRI 999', '<999>1 - - - - - - x', 'bad-pri', /999 is above 191/],
    ['PRI 192', '<192>x', 'bad-pri', /above 191/],
    ['PRI with 4 digits', '<0013>x', 'bad-pri', /more than 3 digits/],
    ['PRI not a number', '<1a>x', 'bad-pri', /not a digit/],
    ['PRI empty', '<>x', 'bad-pri', /empty/],
    ['PRI not closed', '<13', 'bad-pri', /not closed/],
    ['VERSION 2', '<13>2 - h a - - - x', 'unsupported-version', /VERSION 2/],
    ['month 13', '<13>1 2024-13-01T00:00:00Z h a - - - x', 'bad-timestamp', /not an RFC 5424 timestamp/],
    ['no offset', '<13>1 2024-01-01T00:00:00 h a - - - x', 'bad-timestamp', /not an RFC 5424 timestamp/],
    ['a fraction of 7 digits', '<13>1 2024-01-01T00:00:00.1234567Z h a - - - x', 'bad-timestamp', /not an RFC 5424/],
    ['a lowercase t', '<13>1 2024-01-01t00:00:00Z h a - - - x', 'bad-timestamp', /not an RFC 5424/],
    ['offset hours 24', '<13>1 2024-01-01T00:00:00+24:00 h a - - - x', 'bad-timestamp', /not an RFC 5424/],
    ['a tab in HOSTNAME', '<13>1 - h\tost a - - - x', 'bad-header', /HOSTNAME contains a control character/],
    ['leap second', '<13>1 2024-01-01T23:59:60Z h a - - - x', 'bad-timestamp', /not an RFC 5424/],
    ['Feb 30 in BSD form', '<13>Feb 30 00:00:00 h a: x', 'bad-timestamp', /not a valid date/],
    ['hour 25 in BSD form', '<13>Mar  1 25:00:00 h a: x', 'bad-timestamp', /not a valid date/],
    ['cut inside the timestamp', '<13>1 2024-01-0', 'bad-timestamp', /header ends in TIMESTAMP/],
    ['cut inside the header', '<13>1 2024-01-01T00:00:00Z host', 'bad-header', /header ends in HOSTNAME/],
    ['two spaces in the header', '<13>1 -  h a - - - x', 'bad-header', /empty/],
    ['MSGID of 33 characters', `<13>1 - h a - ${'m'.repeat(33)} - x`, 'bad-header', /MSGID is 33 characters/],
    ['structured data not bracketed', '<13>1 - h a - - x@1 m', 'bad-structured-data', /must be "-" or start with "\["/],
    ['parameter without a value', '<13>1 - h a - - [x@1 y] m', 'bad-structured-data', /not followed by ="/],
    ['unterminated value', '<13>1 - h a - - [x@1 y="abc', 'bad-structured-data', /no closing quote/],
    ['unclosed element', '<13>1 - h a - - [x@1 y="1"', 'bad-structured-data', /not closed by "\]"/],
    ['space inside the bracket', '<13>1 - h a - - [ a@1 x="1"] m', 'bad-structured-data', /empty SD-ID/],
    ['duplicate SD-ID', '<13>1 - h a - - [a@1 x="1"][a@1 y="2"] m', 'bad-structured-data', /appears twice/],
    ['garbage after the elements', '<13>1 - h a - - [a@1 x="1"]junk', 'bad-structured-data', /unexpected "j"/],
    ['binary garbage', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80, 0x3c]), 'missing-pri', /starts with/],
  ];
  for (const [name, input, reason, detail] of cases) {
    it(name, () => {
      const outcome = parse(input);
      expect(outcome).toMatchObject({ ok: false, reason });
      if (!outcome.ok) expect(outcome.detail).toMatch(detail);
    });
  }
  // RFC 5424's invalid example 3 (a space between elements) is, by the grammar, one element and a MSG.
  it('a space between two elements makes the second one the MSG (RFC 5424 grammar)', () => {
    expect(parse('<13>1 - h a - - [a@1 x="1"] [b@1 y="2"]')).toMatchObject({ ok: true, fields: { message: '[b@1 y="2"]' } });
  });
});

describe('invalid UTF-8, size limits', () => {
  it('invalid UTF-8 is decoded with U+FFFD and counted, not rejected; a real U+FFFD is not counted', () => {
    const bytes = Buffer.concat([Buffer.from('<13>1 - h a - - - bad '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(' good \uFFFD 政务')]);
    const outcome = parsed(bytes);
    expect(outcome.invalidUtf8Sequences).toBe(2);
    expect(outcome.fields.message).toBe('bad \uFFFD(\uFFFD good \uFFFD 政务');
    expect(parsed('<13>1 - h a - - - fine \uFFFD').invalidUtf8Sequences).toBe(0);
  });

  it('a message over the maximum is truncated on a character boundary and flagged', () => {
    const text = `<13>1 - h a - - - ${'政'.repeat(100)}`; // 3 bytes per character
    const outcome = parsed(text, { maxMessageBytes: 100 });
    expect(outcome.truncated).toBe(true);
    expect(outcome.originalBytes).toBe(Buffer.byteLength(text));
    expect(outcome.invalidUtf8Sequences).toBe(0); // the cut did not make a broken character
    expect(outcome.fields.message).toBe('政'.repeat(27)); // 19 header bytes + 27*3 = 100
  });

  it('a 1 MB message parses in bounded time and keeps its first 64 KiB', () => {
    const big = Buffer.concat([Buffer.from('<13>1 - h a - - - '), Buffer.alloc(1024 * 1024, 'x')]);
    const started = performance.now();
    const outcome = parsed(big);
    expect(performance.now() - started).toBeLessThan(500);
    expect(outcome.truncated).toBe(true);
    expect(Buffer.byteLength(outcome.fields.message)).toBe(64 * 1024 - 18);
  });

  it('trailing LF, CR LF and NUL are framing, not message', () => {
    expect(parsed('<13>1 - h a - - - text\r\n').fields.message).toBe('text');
    expect(parsed('<13>Nov 23 16:24:47 h a: text\n\0').fields.message).toBe('text');
  });
});

describe('the stream framer', () => {
  function frameAll(chunks: Buffer[], limits = { maxMessageBytes: 64, maxFrameBytes: 1000 }) {
    const frames: { text: string; received: number; framing: string }[] = [];
    const framer = new SyslogStreamFramer(limits, (bytes, received, framing) => frames.push({ text: bytes.toString('latin1'), received, framing }));
    const failures = chunks.map((chunk) => framer.push(chunk)).filter(Boolean);
    return { frames, failures, framer };
  }

  it('octet counting and LF framing mixed on one connection, fed one byte at a time', () => {
    const stream = Buffer.from('11 <13>1 - - a\n<13>line two\n16 <13>with\nnewline<13>three\r\n');
    const { frames, failures, framer } = frameAll([...stream].map((byte) => Buffer.from([byte])));
    expect(failures).toEqual([]);
    expect(frames).toEqual([
      { text: '<13>1 - - a', received: 11, framing: 'octet-counting' },
      { text: '<13>line two', received: 12, framing: 'lf' },
      { text: '<13>with\nnewline', received: 16, framing: 'octet-counting' },
      { text: '<13>three\r', received: 10, framing: 'lf' },
    ]);
    expect(framer.inFrame).toBe(false);
  });

  it('a long line keeps at most maxMessageBytes and reports its full length', () => {
    const { frames, framer } = frameAll([Buffer.from('<13>'), Buffer.alloc(500, 'y'), Buffer.from('\n<13>next\n')]);
    expect(frames[0]).toEqual({ text: '<13>' + 'y'.repeat(60), received: 504, framing: 'lf' });
    expect(frames[1]!.text).toBe('<13>next');
    expect(framer.bufferedBytes).toBe(0);
  });

  it('an octet count over maxFrameBytes is a failure; under it the excess is skipped', () => {
    expect(frameAll([Buffer.from('999999999 <13>x')]).failures).toEqual(['octet-count-too-large']);
    const { frames } = frameAll([Buffer.from(`200 <13>${'z'.repeat(196)}<13>after\n`)]);
    expect(frames.map((f) => [f.text.length, f.received])).toEqual([[64, 200], [9, 9]]);
  });

  it('digits not followed by a space are the start of a line', () => {
    expect(frameAll([Buffer.from('123abc\n')]).frames).toEqual([{ text: '123abc', received: 6, framing: 'lf' }]);
  });

  it('at the end of the stream: an unterminated line is a message, a cut octet frame is reported', () => {
    const line = frameAll([Buffer.from('<13>no newline')]);
    expect(line.framer.end()).toBe(false);
    expect(line.frames.map((f) => f.text)).toEqual(['<13>no newline']);
    const cut = frameAll([Buffer.from('50 <13>short')]);
    expect(cut.framer.end()).toBe(true);
    expect(cut.frames).toEqual([]);
  });

  it('a message the framing already cut is reported truncated, with its length on the wire', () => {
    const outcome = parseSyslog(Buffer.from('<13>1 - h a - - - abc'), {}, 5000);
    expect(outcome).toMatchObject({ ok: true, truncated: true, originalBytes: 5000 });
    expect(parseSyslog(Buffer.from('<13>1 - h a - - - abc'))).toMatchObject({ ok: true, truncated: false, originalBytes: 21 });
  });
});
