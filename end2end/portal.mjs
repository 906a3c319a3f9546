// Signing in as a demo patient, shared by the suites: `portico demo` makes the
// patient and the link, the code comes through the test SMTP server.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { watchedPage } from './browser.mjs';
import { emails, newCode } from './mail.mjs';

export const PORTICO = process.env.PORTICO_BIN ?? 'target/debug/portico';

// `portico demo` adds a clinic and a patient and prints a sign-in link. Each
// test signs in as a patient of its own: at most 5 codes an hour go to one.
let patients = 0;
export function demoLink(patient = `patient-${process.pid}-${++patients}@example.org`) {
  const out = execFileSync(PORTICO, ['demo', '--patient', patient], { env: process.env, encoding: 'utf8' });
  const link = out.split('\n').find((line) => line.includes('/open/'));
  assert.ok(link, `no link in: ${out}`);
  return link.trim();
}

export async function hydrated(page) {
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 30_000 });
}

// Opens a fresh demo link and signs in with the emailed code; `check` runs on
// the landing page and on the code entry.
export async function signIn(page, patient, { check = async () => {} } = {}) {
  await page.goto(demoLink(patient));
  await hydrated(page);
  await page.getByRole('heading', { name: 'Riverside Clinic (demo) sent you a secure message' }).waitFor();
  await check('the landing page of a notification link');
  const before = emails();
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await page.getByRole('status').filter({ hasText: 'A code is on its way' }).waitFor();
  // The session that asked for the code, from before sign-in.
  const preSignIn = (await page.context().cookies()).find((c) => c.name === 'portico_session');
  const code = await newCode(before);
  // A wrong code first: the page says so, and the right one still works.
  await page.getByLabel('The code from the email').fill(code === '000000' ? '000001' : '000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'That code did not work' }).waitFor();
  await check('the code entry, after a wrong code');
  await page.getByLabel('The code from the email').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your messages' }).waitFor();
  return { preSignIn };
}

// A platform authenticator on Chromium's virtual WebAuthn: discoverable
// credentials, user verification, presence simulated.
export async function addAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

// A staff member (named `E2E <role>`) of the organization `org` (called
// `orgName`), in a fresh browser context with a passkey, enrolled and signed in on /staff.
export async function enrolledStaff(browser, org, role, orgName = 'Riverside Clinic (demo)') {
  const { context, page, problems } = await watchedPage(browser);
  await addAuthenticator(context, page);
  const email = `${role}-${process.pid}-${Date.now()}@riverside.example`;
  const added = execFileSync(PORTICO, ['staff', 'add', '--org', org, '--email', email, '--name', `E2E ${role}`, '--role', role], {
    env: process.env,
    encoding: 'utf8',
  });
  await page.goto(added.split('\n').find((l) => l.includes('/enroll/')).trim());
  await hydrated(page);
  await page.getByLabel(/Choose a password/).fill('four long words here');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByRole('heading', { name: `${orgName} · ${role}` }).waitFor();
  return { context, page, problems };
}
