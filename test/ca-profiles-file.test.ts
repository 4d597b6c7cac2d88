// Certificate profiles from a file (ca.profilesFile): a profile is replaced
// or added by name, the Authority issues under it, and each mistake in the
// file is named with its profile and key.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authority, DEFAULT_PROFILES, fixedPassphrase, loadProfiles } from '../ca/index.js';
import { EgovError, openDatabase } from '../core/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-profiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

const VPN_CLIENT = `
vpn-client:
  description: a VPN client of the external network
  keyUsage: [digitalSignature]
  extendedKeyUsage: [clientAuth]
  keys: { ecCurves: [P-256] }
  validityDays: { default: 90, max: 180 }
  subject: { required: [CN, OU], allowed: [CN, OU, O] }
  sans: { types: [], required: false, max: 0 }
server:
  description: servers, shorter-lived here
  keyUsage: [digitalSignature]
  extendedKeyUsage: [serverAuth]
  keys: { ecCurves: [P-256, P-384] }
  validityDays: { default: 90, max: 90 }
  subject: { required: [CN], allowed: [CN, O] }
  sans: { types: [dns, ip], required: true, max: 10 }
`;

describe('loadProfiles', () => {
  it('adds and replaces profiles by name, keeping the others', () => {
    const profiles = loadProfiles(write('profiles.yaml', VPN_CLIENT));
    expect(profiles['vpn-client']).toMatchObject({ name: 'vpn-client', validityDays: { default: 90, max: 180 } });
    expect(profiles.server!.validityDays.max).toBe(90);
    expect(profiles.person).toBe(DEFAULT_PROFILES.person);
  });

  it('the Authority issues under a profile from the file and enforces it', async () => {
    const database = await openDatabase({ dataDir: path.join(dir, 'data') });
    try {
      const authority = new Authority({ database, publicUrl: 'http://127.0.0.1:1', passphrase: fixedPassphrase('profiles-test-passphrase'), profiles: loadProfiles(write('p2.yaml', VPN_CLIENT)) });
      const by = { actor: 'test', source: 'test' };
      await authority.initHierarchy({ name: 'ext', algorithm: 'ecdsa-p256', subject: '/CN=External Root CA' }, by);
      const { certificate } = await authority.issueWithKeygen({ ca: 'ext', profile: 'vpn-client', subject: '/OU=Roads Bureau/CN=laptop-17', p12Password: 'p12-password-1' }, by);
      const days = (Date.parse(certificate.notAfter) - Date.parse(certificate.notBefore)) / 86400_000;
      expect(Math.round(days)).toBe(90);
      await expect(authority.issueWithKeygen({ ca: 'ext', profile: 'vpn-client', subject: '/CN=laptop-18', p12Password: 'p12-password-1' }, by)).rejects.toThrow(/must carry OU/);
      await expect(authority.issueWithKeygen({ ca: 'ext', profile: 'server', subject: '/CN=web', sans: ['DNS:web.example.cn'], validityDays: 200, p12Password: 'p12-password-1' }, by)).rejects.toThrow(/over the 90-day maximum/);
    } finally {
      await database.close();
    }
  });

  it('names the profile and key of each mistake', () => {
    const expectBadConfig = (text: string, pattern: RegExp) => {
      try {
        loadProfiles(write(`bad-${Math.random()}.yaml`, text));
        throw new Error('accepted a bad profiles file');
      } catch (error) {
        expect(error).toBeInstanceOf(EgovError);
        expect((error as EgovError).code).toBe('bad-config');
        expect((error as EgovError).message).toMatch(pattern);
      }
    };
    expectBadConfig(VPN_CLIENT.replace('[digitalSignature]\n  extendedKeyUsage: [clientAuth]', '[signEverything]\n  extendedKeyUsage: [clientAuth]'), /profile "vpn-client", key "keyUsage/);
    expectBadConfig(VPN_CLIENT.replace('default: 90, max: 180', 'default: 400, max: 180'), /validityDays.default is above/);
    expectBadConfig(VPN_CLIENT.replace('required: [CN, OU], allowed: [CN, OU, O]', 'required: [CN, OU], allowed: [CN]'), /OU is required but not allowed/);
    expectBadConfig('- just\n- a list\n', /expected a mapping/);
    expectBadConfig('Bad_Name:\n  description: x\n', /profile name "Bad_Name"/);
    expectBadConfig('vpn: {description: "x", keyUsage: [digitalSignature], extendedKeyUsage: [], keys: {}, validityDays: {default: 1, max: 1}, subject: {required: [], allowed: [CN]}, sans: {types: [], required: false, max: 0}, color: blue}', /key "color"|color/);
  });
});
