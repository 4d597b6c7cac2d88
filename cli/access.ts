// `egov-ops access …`: role bindings, passwords, lockouts, enrolment codes.
// The CLI runs on the server with the database at hand, so it is trusted as
// the machine's operator; everything it changes lands in the audit log.

import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { accessHierarchy, enrolWithCode, parseSerial } from '../ca/index.js';
import { EgovError, parseRole, ROLES } from '../core/index.js';
import { cliActor, outputFor, withOpenSuite, type GlobalOptions } from './context.js';

function readSecret(file: string, what: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new EgovError('bad-request', `${what} file ${file} cannot be read: ${(error as Error).message}`);
  }
}

export function registerAccessCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const access = program.command('access').description(`who may do what: certificates bound to roles (${ROLES.join(', ')}), passwords, lockouts, enrolment codes`);

  access
    .command('list')
    .description('certificates bound to roles')
    .action(async () =>
      withOpenSuite(globals(), async (suite) => {
        const bindings = await suite.access.listBindings();
        out(bindings, () => (bindings.length ? bindings.map((b) => `${b.ca}/${b.serial}  ${b.holder}  [${b.roles.join(', ')}]${b.passwordSet ? '' : '  (no password)'}${b.lockedUntil ? `  LOCKED until ${b.lockedUntil}` : ''}`).join('\n') : 'no bindings yet: `egov-ops access code --role ca-admin` makes a first enrolment code'));
      }),
    );

  access
    .command('bind')
    .description('bind a certificate of ours to roles (replaces its roles)')
    .requiredOption('--ca <name>', 'issuing hierarchy')
    .requiredOption('--serial <hex>', 'certificate serial')
    .requiredOption('--roles <list>', `comma-separated: ${ROLES.join(', ')}`)
    .option('--password-file <file>', 'the second factor for ca-admin / security-officer (- for stdin)')
    .action(async (o) =>
      withOpenSuite(globals(), async (suite) => {
        const certificate = await suite.authority.getCertificate(o.ca, o.serial);
        const holder = /CN=([^,]+)/.exec(certificate.subject)?.[1] ?? certificate.subject;
        const roles = String(o.roles).split(',').map((r) => parseRole(r.trim()));
        const binding = await suite.access.bind({ ca: o.ca, serial: parseSerial(o.serial), holder, roles, ...(o.passwordFile ? { password: readSecret(o.passwordFile, 'password') } : {}) }, cliActor());
        out(binding, () => `bound ${binding.ca}/${binding.serial} (${binding.holder}) to ${binding.roles.join(', ')}${binding.passwordSet ? '' : binding.roles.some((r) => r === 'ca-admin' || r === 'security-officer') ? '\nwarning: administrator roles stay inactive until a password is set (`egov-ops access password`)' : ''}`);
      }),
    );

  access
    .command('unbind')
    .description('remove a certificate\'s roles and end its sessions')
    .requiredOption('--ca <name>', 'issuing hierarchy')
    .requiredOption('--serial <hex>', 'certificate serial')
    .action(async (o) =>
      withOpenSuite(globals(), async (suite) => {
        await suite.access.unbind({ ca: o.ca, serial: parseSerial(o.serial) }, cliActor());
        out({ removed: true }, () => `removed the roles of ${o.ca}/${o.serial}`);
      }),
    );

  access
    .command('password')
    .description('set the password (second factor) of a bound certificate; also clears a lockout')
    .requiredOption('--ca <name>', 'issuing hierarchy')
    .requiredOption('--serial <hex>', 'certificate serial')
    .requiredOption('--password-file <file>', 'file holding the password (- for stdin)')
    .action(async (o) =>
      withOpenSuite(globals(), async (suite) => {
        await suite.access.setPassword({ ca: o.ca, serial: parseSerial(o.serial), password: readSecret(o.passwordFile, 'password') }, cliActor());
        out({ passwordSet: true }, () => `password set for ${o.ca}/${o.serial}`);
      }),
    );

  access
    .command('unlock')
    .description('clear a lockout after too many wrong passwords')
    .requiredOption('--ca <name>', 'issuing hierarchy')
    .requiredOption('--serial <hex>', 'certificate serial')
    .action(async (o) =>
      withOpenSuite(globals(), async (suite) => {
        await suite.access.unlock({ ca: o.ca, serial: parseSerial(o.serial) }, cliActor());
        out({ unlocked: true }, () => `unlocked ${o.ca}/${o.serial}`);
      }),
    );

  access
    .command('code')
    .description('make a one-time enrolment code: its bearer obtains one certificate with the role (POST /api/access/enrol or `access enrol`)')
    .requiredOption('--role <role>', ROLES.join(', '))
    .option('--valid-hours <n>', 'how long the code stays valid', (v) => Number(v), 72)
    .action(async (o) =>
      withOpenSuite(globals(), async (suite) => {
        const grant = await suite.access.createEnrolmentCode(parseRole(o.role), cliActor(), o.validHours);
        out({ role: o.role, ...grant }, () => `enrolment code for one ${o.role} certificate (shown once, valid until ${grant.expiresAt}):\n  ${grant.code}`);
      }),
    );

  access
    .command('enrol')
    .description('spend an enrolment code: make a key and certificate bound to the code\'s role, written as PKCS#12')
    .requiredOption('--code <code>', 'the one-time code')
    .requiredOption('--name <name>', 'the holder\'s name (CN)')
    .option('--department <dept>', 'department (OU)')
    .option('--employee-number <n>', 'employee number')
    .option('--password-file <file>', 'the sign-in password (required for ca-admin / security-officer)')
    .requiredOption('--p12-password-file <file>', 'password protecting the PKCS#12')
    .requiredOption('--out <file>', 'where to write the PKCS#12')
    .action(async (o) =>
      withOpenSuite(globals(), async (suite) => {
        const ca = await accessHierarchy(suite.authority, suite.config.access.ca);
        const result = await enrolWithCode(
          { authority: suite.authority, access: suite.access, ca },
          {
            code: o.code,
            name: o.name,
            ...(o.department ? { department: o.department } : {}),
            ...(o.employeeNumber ? { employeeNumber: o.employeeNumber } : {}),
            ...(o.passwordFile ? { password: readSecret(o.passwordFile, 'password') } : {}),
            p12Password: readSecret(o.p12PasswordFile, 'PKCS#12 password'),
          },
          cliActor(),
        );
        writeFileSync(o.out, result.pkcs12!, { mode: 0o600 });
        out({ role: result.role, ca: result.ca, serial: result.serial, file: o.out }, () => `enrolled ${o.name} as ${result.role}: certificate ${result.ca}/${result.serial}, key and chain in ${o.out}`);
      }),
    );
  return access;
}
