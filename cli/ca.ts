// `egov-ops ca ...`: hierarchies, issuance, revocation, CRLs, expiry.

import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { certificatePem, KEY_ALGORITHMS, OPERATOR_REASONS, toPem, type HierarchySummary } from '../ca/index.js';
import { EgovError } from '../core/index.js';
import { cliActor, outputFor, withOpenSuite, type GlobalOptions, type Suite } from './context.js';

function readInput(file: string, what: string): Buffer {
  try {
    return file === '-' ? readFileSync(0) : readFileSync(file);
  } catch (error) {
    throw new EgovError('bad-request', `${what} ${file} cannot be read: ${(error as Error).message}`);
  }
}

function writeOutput(file: string | undefined, data: Buffer | string, mode = 0o644): void {
  if (!file) {
    process.stdout.write(data);
    return;
  }
  try {
    writeFileSync(file, data, { mode });
  } catch (error) {
    throw new EgovError('bad-request', `cannot write ${file}: ${(error as Error).message}`);
  }
}

function describeHierarchy(h: HierarchySummary): string {
  return [
    `${h.name}  (${h.algorithm}, created ${h.createdAt})`,
    `  root     ${h.root.subject}  until ${h.root.notAfter}${h.root.keyHeld ? '' : '  [root key kept offline]'}`,
    `  issuing  ${h.issuing.subject}  until ${h.issuing.notAfter}`,
    ...(h.ocspResponder ? [`  ocsp     ${h.ocspResponder.subject}  until ${h.ocspResponder.notAfter}`] : []),
    `  last CRL number ${h.crlNumber}`,
  ].join('\n');
}

/** Adds `ca` and its subcommands to the egov-ops program. */
export function registerCaCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const withSuite = <T>(work: (suite: Suite) => Promise<T>, confirmPassphrase = false): Promise<T> => withOpenSuite(globals(), work, confirmPassphrase);

  const ca = program.command('ca').description('certificate authority: hierarchies, issuance, revocation, CRLs');

  ca.command('init')
    .description('create a hierarchy: a self-signed root and an issuing CA (pathLen 0) under it, plus an OCSP responder certificate')
    .requiredOption('--ca <name>', 'hierarchy name (lower-case letters, digits, hyphens)')
    .addOption(new Option('--algorithm <alg>', 'key algorithm').choices([...KEY_ALGORITHMS]).makeOptionMandatory())
    .requiredOption('--subject <dn>', 'root subject, e.g. "/C=CN/O=City E-Gov/CN=City SM2 Root CA" or "CN=City Root CA,O=City E-Gov,C=CN"')
    .option('--issuing-subject <dn>', 'issuing CA subject (default: the root subject with " Issuing CA" after the CN)')
    .option('--root-years <n>', 'root validity in years', (v) => Number(v), 20)
    .option('--issuing-years <n>', 'issuing CA validity in years', (v) => Number(v), 10)
    .action(async (o) =>
      withSuite(async (suite) => {
        const summary = await suite.authority.initHierarchy(
          { name: o.ca, algorithm: o.algorithm, subject: o.subject, ...(o.issuingSubject ? { issuingSubject: o.issuingSubject } : {}), rootValidityYears: o.rootYears, issuingValidityYears: o.issuingYears },
          cliActor(),
        );
        // The way in for the first ca-admin: a one-time code, shown once.
        let enrolment: { code: string; expiresAt: string } | undefined;
        if (summary.algorithm !== 'sm2' && !(await suite.access.hasAdministrator())) enrolment = await suite.access.createEnrolmentCode('ca-admin', cliActor());
        out({ ...summary, ...(enrolment ? { enrolment } : {}) }, () =>
          [
            `created hierarchy\n${describeHierarchy(summary)}`,
            ...(enrolment
              ? [`\nfirst ca-admin enrolment code (one use, shown once, valid until ${enrolment.expiresAt}):\n  ${enrolment.code}`, '  spend it with `egov-ops access enrol --code CODE ...` or POST /api/access/enrol on the HTTPS port']
              : []),
          ].join('\n'),
        );
      }, true),
    );

  ca.command('import')
    .description('import an existing root and issuing CA (certificates, and the issuing key); the root key stays where it is')
    .requiredOption('--ca <name>', 'hierarchy name')
    .requiredOption('--root-cert <file>', 'root certificate, PEM or DER')
    .requiredOption('--issuing-cert <file>', 'issuing CA certificate, PEM or DER')
    .requiredOption('--issuing-key <file>', 'issuing CA private key, PEM or DER (PKCS#8), encrypted or not')
    .option('--issuing-key-passphrase-file <file>', 'passphrase of the key file being imported')
    .action(async (o) =>
      withSuite(async (suite) => {
        const summary = await suite.authority.importHierarchy(
          {
            name: o.ca,
            rootCertificate: readInput(o.rootCert, 'root certificate'),
            issuingCertificate: readInput(o.issuingCert, 'issuing certificate'),
            issuingKey: readInput(o.issuingKey, 'issuing key'),
            ...(o.issuingKeyPassphraseFile ? { issuingKeyPassphrase: readInput(o.issuingKeyPassphraseFile, 'passphrase file').toString('utf8').trim() } : {}),
          },
          cliActor(),
        );
        out(summary, () => `imported hierarchy\n${describeHierarchy(summary)}`);
      }),
    );

  ca.command('list')
    .description('without --ca: the hierarchies; with --ca: its certificates')
    .option('--ca <name>', 'hierarchy')
    .addOption(new Option('--status <status>', 'only certificates in this state').choices(['good', 'revoked', 'hold']))
    .option('--limit <n>', 'at most this many', (v) => Number(v), 100)
    .option('--after <serial>', 'page: certificates after this serial')
    .action(async (o) =>
      withSuite(async (suite) => {
        if (!o.ca) {
          const hierarchies = await suite.authority.listHierarchies();
          return out(hierarchies, () => (hierarchies.length ? hierarchies.map(describeHierarchy).join('\n\n') : 'no hierarchies yet: create one with `egov-ops ca init`'));
        }
        const certificates = await suite.authority.listCertificates(o.ca, { ...(o.status ? { status: o.status } : {}), limit: o.limit, ...(o.after ? { after: o.after } : {}) });
        out(certificates, () =>
          certificates.length
            ? certificates.map((c) => `${c.serial}  ${c.status.padEnd(7)}  ${c.profile.padEnd(8)}  until ${c.notAfter}  ${c.subject}`).join('\n') + `\n${certificates.length} certificate(s)`
            : 'no certificates',
        );
      }),
    );

  ca.command('issue')
    .description('issue a certificate from a CSR (--csr) or with a key generated here (--keygen, delivered as PKCS#12)')
    .requiredOption('--ca <name>', 'hierarchy')
    .requiredOption('--profile <profile>', 'person, device, software, server or agent')
    .option('--csr <file>', 'PKCS#10 request, PEM or DER ("-" for stdin)')
    .option('--keygen', 'generate the key here and deliver a PKCS#12')
    .option('--subject <dn>', 'subject for --keygen')
    .option('--san <value>', 'subject alternative name: DNS:host, IP:addr, email:a@b (repeatable); replaces the CSR SANs', (v: string, all: string[] = []) => [...all, v])
    .option('--key-algorithm <alg>', 'key to generate with --keygen (default: the CA family)')
    .option('--days <n>', 'validity in days (default: the profile default)', (v) => Number(v))
    .option('--p12-password-file <file>', 'PKCS#12 password file for --keygen')
    .option('--out <file>', 'write the PEM certificate (or the .p12) here instead of stdout')
    .action(async (o) =>
      withSuite(async (suite) => {
        if (Boolean(o.csr) === Boolean(o.keygen)) throw new EgovError('bad-request', 'give exactly one of --csr FILE or --keygen');
        if (o.csr) {
          const issued = await suite.authority.issueFromCsr(
            { ca: o.ca, profile: o.profile, csr: readInput(o.csr, 'CSR'), ...(o.san ? { sans: o.san } : {}), ...(o.days !== undefined ? { validityDays: o.days } : {}) },
            cliActor(),
          );
          if (o.out) writeOutput(o.out, issued.certificatePem);
          const { der: _der, ...record } = issued;
          if (globals().json) return out(record, () => '');
          if (!o.out) return void process.stdout.write(issued.certificatePem);
          return void process.stderr.write(`issued ${issued.serial} (${issued.profile}, until ${issued.notAfter}) to ${issued.subject}; wrote ${o.out}\n`);
        }
        if (!o.subject) throw new EgovError('bad-request', '--keygen needs --subject DN');
        if (!o.p12PasswordFile) throw new EgovError('bad-request', '--keygen needs --p12-password-file FILE (the password protecting the PKCS#12)');
        if (!o.out) throw new EgovError('bad-request', '--keygen needs --out FILE.p12');
        const password = readInput(o.p12PasswordFile, 'PKCS#12 password file').toString('utf8').replace(/\r?\n$/, '');
        const { certificate, pkcs12 } = await suite.authority.issueWithKeygen(
          { ca: o.ca, profile: o.profile, subject: o.subject, sans: o.san ?? [], p12Password: password, ...(o.keyAlgorithm ? { keyAlgorithm: o.keyAlgorithm } : {}), ...(o.days !== undefined ? { validityDays: o.days } : {}) },
          cliActor(),
        );
        writeOutput(o.out, pkcs12, 0o600);
        const { der: _der, ...record } = certificate;
        out({ ...record, pkcs12File: o.out }, () => `issued ${certificate.serial} (${certificate.profile}, ${certificate.keyAlgorithm}, until ${certificate.notAfter}) to ${certificate.subject}; wrote ${o.out}`);
      }),
    );

  ca.command('chain')
    .description('print the issuing CA certificate then the root, PEM')
    .requiredOption('--ca <name>', 'hierarchy')
    .action(async (o) =>
      withSuite(async (suite) => {
        const chain = await suite.authority.chain(o.ca);
        const pem = chain.map((c) => toPem('CERTIFICATE', c)).join('');
        if (globals().json) return out({ ca: o.ca, chainPem: pem }, () => '');
        process.stdout.write(pem);
      }),
    );

  ca.command('revoke')
    .description('revoke a certificate (certificateHold suspends it; undo with unsuspend)')
    .requiredOption('--ca <name>', 'hierarchy')
    .requiredOption('--serial <hex>', 'serial number, hex')
    .requiredOption('--reason <reason>', `RFC 5280 reason: ${OPERATOR_REASONS.join(', ')}`)
    .action(async (o) =>
      withSuite(async (suite) => {
        const record = await suite.authority.revoke({ ca: o.ca, serial: o.serial, reason: o.reason }, cliActor());
        out(record, () => `${record.status === 'hold' ? 'suspended' : 'revoked'} ${record.serial} (${record.revocationReason}) at ${record.revokedAt}; the next delta CRL lists it, OCSP answers now`);
      }),
    );

  ca.command('unsuspend')
    .description('release a certificateHold: the certificate is good again')
    .requiredOption('--ca <name>', 'hierarchy')
    .requiredOption('--serial <hex>', 'serial number, hex')
    .action(async (o) =>
      withSuite(async (suite) => {
        const record = await suite.authority.unsuspend({ ca: o.ca, serial: o.serial }, cliActor());
        out(record, () => `released ${record.serial}: status good`);
      }),
    );

  ca.command('crl')
    .description('build, sign and store a CRL now, and write it out')
    .requiredOption('--ca <name>', 'hierarchy')
    .option('--delta', 'a delta CRL against the newest full CRL')
    .option('--der', 'DER instead of PEM')
    .option('--out <file>', 'write here instead of stdout')
    .action(async (o) =>
      withSuite(async (suite) => {
        const built = await suite.crls.build(o.ca, o.delta ? 'delta' : 'full');
        const data = o.der ? built.der : toPem('X509 CRL', built.der);
        const info = { ca: built.ca, kind: built.kind, number: built.number, ...(built.baseNumber !== undefined ? { baseNumber: built.baseNumber } : {}), entries: built.entries, thisUpdate: built.thisUpdate, nextUpdate: built.nextUpdate, ...(o.out ? { file: o.out } : {}) };
        if (o.out) {
          writeOutput(o.out, data);
          return out(info, () => `${built.kind} CRL number ${built.number} with ${built.entries} entries, next update ${built.nextUpdate.toISOString()}; wrote ${o.out}`);
        }
        if (globals().json) return out({ ...info, crlPem: toPem('X509 CRL', built.der) }, () => '');
        process.stdout.write(data);
      }),
    );

  ca.command('show')
    .description('one certificate: its record, and the PEM')
    .requiredOption('--ca <name>', 'hierarchy')
    .requiredOption('--serial <hex>', 'serial number, hex')
    .action(async (o) =>
      withSuite(async (suite) => {
        const { der: _der, ...record } = await suite.authority.getCertificate(o.ca, o.serial);
        out(record, () =>
          [
            `serial      ${record.serial}`,
            `status      ${record.status}${record.revocationReason ? ` (${record.revocationReason}, ${record.revokedAt})` : ''}`,
            `subject     ${record.subject}`,
            `SANs        ${record.sans.join(', ') || '-'}`,
            `profile     ${record.profile}`,
            `key         ${record.keyAlgorithm}`,
            `valid       ${record.notBefore} .. ${record.notAfter}`,
            `sha256      ${record.fingerprintSha256}`,
            '',
            record.certificatePem,
          ].join('\n'),
        );
      }),
    );

  ca.command('export')
    .description('write a certificate as PEM, DER, or PEM with its chain')
    .requiredOption('--ca <name>', 'hierarchy')
    .requiredOption('--serial <hex>', 'serial number, hex')
    .addOption(new Option('--format <format>', 'output format').choices(['pem', 'der', 'chain']).default('pem'))
    .option('--out <file>', 'write here instead of stdout')
    .action(async (o) =>
      withSuite(async (suite) => {
        const certificate = await suite.authority.getCertificate(o.ca, o.serial);
        const chain = o.format === 'chain' ? await suite.authority.chain(o.ca) : [];
        const data = o.format === 'der' ? certificate.der : certificatePem(certificate.der) + chain.map((c) => toPem('CERTIFICATE', c)).join('');
        if (globals().json) return out({ serial: certificate.serial, format: o.format, ...(o.format === 'der' ? { derBase64: data.toString('base64') } : { pem: data }) }, () => '');
        writeOutput(o.out, data);
        if (o.out) process.stderr.write(`wrote ${o.format} of ${certificate.serial} to ${o.out}\n`);
      }),
    );

  ca.command('expiring')
    .description('good certificates that expire within N days, soonest first, across every hierarchy')
    .option('--days <n>', 'look this many days ahead', (v) => Number(v), 30)
    .action(async (o) =>
      withSuite(async (suite) => {
        const list = await suite.desk.expiring(o.days);
        out(list, () => (list.length ? list.map((c) => `${c.notAfter.slice(0, 10)}  ${String(c.daysLeft).padStart(4)} d  ${c.ca}/${c.serial}  ${c.profile}  ${c.subject}`).join('\n') : `no good certificate expires within ${o.days} days`));
      }),
    );
  return ca;
}
