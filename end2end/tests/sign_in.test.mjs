// Signing in as a patient: the notification link, the emailed code (as the
// test SMTP server received it, see ../mail.mjs), the session, signing out, and the idle timeout (the suite's
// portal runs with PORTICO_IDLE_TIMEOUT=20s, so the warning shows after 10 s).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_URL, launch, waitForPortal, watchedPage } from '../browser.mjs';
import { emails, newCode, waitForEmail } from '../mail.mjs';
import { assertAccessible } from '../checks.mjs';
import { PORTICO, addAuthenticator, demoLink, enrolledStaff, hydrated, signIn } from '../portal.mjs';

const DATA_DIR = process.env.PORTICO_DATA_DIR ?? 'target/e2e-data';

let browser;
before(async () => {
  await waitForPortal();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a link, an emailed code, then signing out; the old cookie opens nothing', async () => {
  const { context, page, problems } = await watchedPage(browser);
  const { preSignIn } = await signIn(page);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'portico_session');
  assert.ok(session, 'a session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/');
  assert.ok(preSignIn, 'asking for a code made a session');
  assert.notEqual(preSignIn.value, session.value, 'the session id changed at sign-in');
  // Fixation: the id from before sign-in does not open the inbox.
  const fixed = await browser.newContext();
  await fixed.addCookies([preSignIn]);
  const planted = await fixed.newPage();
  await planted.goto(`${BASE_URL}/inbox`);
  await planted.getByRole('heading', { name: 'Please sign in' }).waitFor();
  await fixed.close();

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();

  // Replaying the cookie from before signing out opens nothing.
  const replay = await browser.newContext();
  await replay.addCookies([session]);
  const again = await replay.newPage();
  await again.goto(`${BASE_URL}/inbox`);
  await again.getByRole('heading', { name: 'Please sign in' }).waitFor();
  await replay.close();

  assert.deepEqual(problems.filter((p) => !p.includes('HTTP 4') && !p.includes('ERR_ABORTED')), [], 'no console errors or exceptions');
  await context.close();
});

test('the sign-in page answers alike for known and unknown addresses', async () => {
  const { context, page } = await watchedPage(browser);
  const answer = async (email) => {
    await page.goto(`${BASE_URL}/sign-in`);
    await hydrated(page);
    await page.getByLabel('Your email address').fill(email);
    await page.getByRole('button', { name: 'Email me a code' }).click();
    const status = page.getByRole('status');
    await status.waitFor();
    return status.textContent();
  };
  assert.equal(await answer('patient@example.org'), await answer('nobody-here@example.org'));
  await context.close();
});

test('a cross-origin POST to a server function is refused', async () => {
  const res = await fetch(`${BASE_URL}/api/sign_out`, {
    method: 'POST',
    headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  assert.equal(res.status, 403);
});

test('the idle timeout warns, can be put off, then signs out and clears the page', async () => {
  const { context, page } = await watchedPage(browser);
  await signIn(page);
  const dialog = page.getByRole('alertdialog');
  await dialog.waitFor({ timeout: 20_000 });
  assert.match(await dialog.textContent(), /signed out in \d+ seconds?\./);
  // Focus moves into the dialog, onto "Stay signed in", and Tab keeps it there.
  const focused = () => page.evaluate(() => ({
    text: document.activeElement?.textContent,
    inDialog: !!document.activeElement?.closest('dialog'),
    onPage: document.activeElement !== document.body && !document.activeElement?.closest('dialog'),
  }));
  assert.equal((await focused()).text, 'Stay signed in');
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    assert.equal((await focused()).onPage, false, 'Tab left the dialog for the page behind it');
  }
  await assertAccessible(page, 'the timeout dialog');
  // Escape means "stay", like the button.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.ok(await page.getByRole('heading', { name: 'Your messages' }).isVisible());
  await dialog.waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Stay signed in' }).click();
  await dialog.waitFor({ state: 'hidden' });

  await page.getByRole('status').filter({ hasText: 'You were signed out after 20 seconds of inactivity' }).waitFor({ timeout: 40_000 });
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await page.getByRole('heading', { name: 'Your messages' }).count(), 0, 'the content is gone');
  // The server ended the session too: the same cookie opens nothing.
  await page.goto(`${BASE_URL}/inbox`);
  await page.getByRole('heading', { name: 'Please sign in' }).waitFor();
  await context.close();
});

test('a passkey added after a code sign-in then signs in alone, typing nothing', async () => {
  const { context, page, problems } = await watchedPage(browser);
  const { cdp, authenticatorId } = await addAuthenticator(context, page);
  const patient = `passkey-${process.pid}@example.org`;
  await signIn(page, patient);
  const passkeys = page.getByRole('region', { name: 'Passkeys' });
  await passkeys.getByText('Sign in faster next time').waitFor();
  await page.getByLabel("Name for this device's passkey").fill('Test laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await passkeys.locator('.passkey-name', { hasText: 'Test laptop' }).waitFor();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();

  // From the sign-in page: the passkey alone, no address, no code.
  await page.goto(`${BASE_URL}/sign-in`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByRole('heading', { name: 'Your messages' }).waitFor();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();

  // From a notification link: the landing page offers the passkey too.
  await page.goto(demoLink(patient));
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByRole('heading', { name: 'Your messages' }).waitFor();

  // Removed, it is gone from the list.
  await page.getByRole('button', { name: 'Remove Test laptop' }).click();
  await passkeys.getByText('Sign in faster next time').waitFor();

  assert.deepEqual(problems.filter((p) => !p.includes('HTTP 4') && !p.includes('ERR_ABORTED')), [], 'no console errors or exceptions');
  await context.close();
});

test('staff enroll from the link, then sign in with password and passkey, and hear of failures', async () => {
  const { context, page, problems } = await watchedPage(browser);
  await addAuthenticator(context, page);
  const demo = execFileSync(PORTICO, ['demo'], { env: process.env, encoding: 'utf8' });
  const org = demo.match(/Organization id \(for `portico staff add --org`\): (\S+)/)[1];
  const email = `nurse-${Date.now()}@riverside.example`;
  const added = execFileSync(PORTICO, ['staff', 'add', '--org', org, '--email', email, '--name', 'Nurse Joy', '--role', 'clinician'], {
    env: process.env,
    encoding: 'utf8',
  });
  const enroll = added.split('\n').find((l) => l.includes('/enroll/')).trim();

  await page.goto(enroll);
  await hydrated(page);
  await assertAccessible(page, 'the staff enrollment page');
  await page.getByLabel(/Choose a password/).fill('four long words here');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('status').filter({ hasText: 'Password set' }).waitFor();
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByRole('heading', { name: 'Riverside Clinic (demo) · clinician' }).waitFor();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();

  // The link works once.
  await page.goto(enroll);
  await page.getByText('This link is used, expired or unknown').waitFor();

  // Two wrong passwords, then the right one and the passkey.
  await page.goto(`${BASE_URL}/staff/sign-in`);
  await hydrated(page);
  for (let i = 0; i < 2; i++) {
    await page.getByLabel('Work email address').fill(email);
    await page.getByLabel('Password').fill('not the password');
    // Each answer awaited, so an earlier one cannot land after a later one.
    const answered = page.waitForResponse((r) => r.url().includes('/api/staff_password'));
    await page.getByRole('button', { name: 'Continue' }).click();
    await answered;
    await page.getByRole('alert').filter({ hasText: 'do not match' }).waitFor();
  }
  await assertAccessible(page, 'the staff sign-in page, after a wrong password');
  await page.getByLabel('Work email address').fill(email);
  await page.getByLabel('Password').fill('four long words here');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('status').filter({ hasText: 'Confirm with your passkey' }).waitFor();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByRole('heading', { name: 'Riverside Clinic (demo) · clinician' }).waitFor();
  await page.getByText('There were 2 failed sign-in attempts').waitFor();

  assert.deepEqual(problems.filter((p) => !p.includes('HTTP 4') && !p.includes('ERR_ABORTED')), []);
  await context.close();
});

test('signing out everywhere ends the other devices\' sessions too', async () => {
  const laptop = await watchedPage(browser);
  const phone = await watchedPage(browser);
  const patient = `everywhere-${process.pid}@example.org`;
  await signIn(laptop.page, patient);
  await signIn(phone.page, patient);
  await phone.page.getByRole('button', { name: 'Sign out on every device' }).click();
  await phone.page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  await laptop.page.goto(`${BASE_URL}/inbox`);
  await laptop.page.getByRole('heading', { name: 'Please sign in' }).waitFor();
  await laptop.context.close();
  await phone.context.close();
});

test('staff write to a new patient, who reads and replies; billing cannot open the thread', async () => {
  const demo = execFileSync(PORTICO, ['demo', '--patient', `seed-${process.pid}@example.org`], {
    env: process.env,
    encoding: 'utf8',
  });
  const org = demo.match(/Organization id \(for `portico staff add --org`\): (\S+)/)[1];
  const clinician = await enrolledStaff(browser, org, 'clinician');
  await assertAccessible(clinician.page, "a clinician's home, with the compose form");
  const patientEmail = `new-patient-${process.pid}@example.org`;
  const before = emails();
  await clinician.page.getByLabel('From').selectOption({ label: 'Cardiology' });
  await clinician.page.getByLabel("Patient's email address").fill(patientEmail);
  await clinician.page.getByLabel('Subject').fill('MARKER-E2E-SUBJECT echo results');
  await clinician.page.getByLabel('Message').fill('MARKER-E2E-BODY Your echo looks normal. https://example.org/echo');
  // A file that is not a PDF, PNG, JPEG or text is refused by its content, with
  // the field named, and nothing typed is lost.
  const files = clinician.page.getByLabel('Attach files (PDF, PNG, JPEG or text)');
  await files.setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ\x90\x00\x03\x00\x00\x00binary') });
  await clinician.page.getByRole('button', { name: 'Send securely' }).click();
  await clinician.page.getByRole('alert').filter({ hasText: 'attachments: only PDF, PNG, JPEG and plain text' }).waitFor();
  assert.equal(await clinician.page.getByLabel('Subject').inputValue(), 'MARKER-E2E-SUBJECT echo results');
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\nMARKER-E2E-PDF\n'), Buffer.alloc(300_000, 7)]);
  await files.setInputFiles({ name: 'MARKER-E2E-FILE echo.pdf', mimeType: 'application/pdf', buffer: pdf });
  await clinician.page.getByRole('button', { name: 'Send securely' }).click();
  await clinician.page.getByRole('heading', { name: 'MARKER-E2E-SUBJECT echo results' }).waitFor();
  const threadUrl = clinician.page.url();
  await assertAccessible(clinician.page, 'a thread as staff see it');

  // The notice, at the SMTP server: who wrote and a link, nothing of the message.
  const notice = await waitForEmail(before, (m) => m.subject === 'You have a new secure message');
  assert.ok(notice, 'a notice arrived');
  assert.doesNotMatch(notice.content, /MARKER|echo/i);
  assert.match(notice.text, /Riverside Clinic \(demo\) sent you a secure message/);
  assert.match(notice.html, /<a href="http:\/\/localhost:\d+\/open\//);
  const link = notice.text.match(/http:\/\/localhost:\d+\/open\/\S+/)[0];

  // The patient signs in from the link, reads, replies.
  const patient = await watchedPage(browser);
  await patient.page.goto(link);
  await hydrated(patient.page);
  const codeBefore = emails();
  await patient.page.getByRole('button', { name: 'Email me a code' }).click();
  const code = await newCode(codeBefore);
  await patient.page.getByLabel('The code from the email').fill(code);
  await patient.page.getByRole('button', { name: 'Sign in' }).click();
  await patient.page.getByRole('link', { name: 'MARKER-E2E-SUBJECT echo results' }).click();
  await patient.page.getByText('MARKER-E2E-BODY Your echo looks normal.').waitFor();
  // The address in the body is a link; the body is text, never HTML.
  await patient.page.getByRole('link', { name: 'https://example.org/echo' }).waitFor();
  await assertAccessible(patient.page, 'a thread as its patient sees it');
  // The PDF downloads whole, as an attachment that the browser must not sniff.
  const fileLink = patient.page.getByRole('link', { name: 'MARKER-E2E-FILE echo.pdf' });
  const href = await fileLink.getAttribute('href');
  const fetched = await patient.page.request.get(`${BASE_URL}${href}`);
  assert.equal(fetched.status(), 200);
  assert.match(fetched.headers()['content-disposition'], /^attachment; /);
  assert.equal(fetched.headers()['x-content-type-options'], 'nosniff');
  assert.equal(fetched.headers()['content-type'], 'application/pdf');
  assert.ok(Buffer.compare(await fetched.body(), pdf) === 0, 'the same bytes come back');
  const [download] = await Promise.all([patient.page.waitForEvent('download'), fileLink.click()]);
  assert.equal(download.suggestedFilename(), 'MARKER-E2E-FILE echo.pdf');
  // Someone else's browser gets nothing.
  const stranger = await browser.newContext();
  assert.equal((await stranger.request.get(`${BASE_URL}${href}`)).status(), 401);
  await stranger.close();
  await patient.page.getByLabel('Your reply').fill('Thank you, doctor');
  await patient.page.getByRole('button', { name: 'Send reply' }).click();
  await patient.page.getByText('Thank you, doctor').waitFor();

  // The clinician's mailbox shows the thread unread; the thread shows the reply
  // and when the patient first read the message.
  await clinician.page.goto(`${BASE_URL}/staff`);
  await clinician.page.getByRole('link', { name: 'Cardiology' }).click();
  await clinician.page.getByText(/· 1 unread/).waitFor();
  await assertAccessible(clinician.page, 'a mailbox');
  await clinician.page.getByRole('link', { name: 'MARKER-E2E-SUBJECT echo results' }).click();
  await clinician.page.getByText('Thank you, doctor').waitFor();
  await clinician.page.getByText(/^Read by the patient \d{4}-\d{2}-\d{2}/).waitFor();

  // The clinician withdraws the first message: the patient then sees who
  // withdrew it and on which day, and nothing more (no words, no file).
  await clinician.page.getByRole('button', { name: 'Withdraw this message' }).click();
  await clinician.page.getByText(/^Withdrawn \d{4}-\d{2}-\d{2}/).waitFor();
  await patient.page.reload();
  await patient.page.getByText(/^This message was withdrawn by Riverside Clinic \(demo\) on \d{4}-\d{2}-\d{2}\.$/).waitFor();
  assert.equal(await patient.page.getByText('MARKER-E2E-BODY').count(), 0);
  assert.equal(await patient.page.getByRole('link', { name: 'MARKER-E2E-FILE echo.pdf' }).count(), 0);
  assert.equal((await patient.page.request.get(`${BASE_URL}${href}`)).status(), 404);

  // Billing: a clear 403 page.
  const clerk = await enrolledStaff(browser, org, 'billing');
  const res = await clerk.page.goto(threadUrl);
  assert.equal(res.status(), 403);
  await clerk.page.getByRole('heading', { name: 'You cannot open this' }).waitFor();
  assert.equal(await clerk.page.getByText('MARKER-E2E').count(), 0);
  await assertAccessible(clerk.page, 'the refusal page');

  // The patient's access history names the clinician who opened the thread and
  // the billing clerk who was refused, as their clinic named them; the
  // clerk's page, a moment ago, is recorded before this one is read.
  await patient.page.goto(`${BASE_URL}/access-history`);
  await patient.page.getByRole('heading', { name: 'Access history' }).waitFor();
  const entries = patient.page.locator('.history-entry');
  const clinicianViewed = entries.filter({ hasText: 'E2E clinician (clinician), Riverside Clinic (demo) opened a conversation' });
  await clinicianViewed.first().waitFor();
  assert.equal(await clinicianViewed.first().getByRole('link', { name: 'Open the conversation' }).getAttribute('href'), new URL(threadUrl).pathname);
  await entries.filter({ hasText: 'E2E billing (billing staff), Riverside Clinic (demo) opened a conversation' }).filter({ hasText: 'Refused' }).first().waitFor();
  await entries.filter({ hasText: 'You looked at this access history' }).first().waitFor();
  assert.equal(await patient.page.getByText('MARKER-E2E').count(), 0, 'the history names no subject');
  await assertAccessible(patient.page, 'the access history');

  for (const who of [clinician, patient, clerk]) await who.context.close();

  // Nothing readable at rest, and nothing in any email: no planted marker in
  // any file under the data directory (database, its journal, the outbox).
  for (const file of filesUnder(DATA_DIR)) {
    const bytes = readFileSync(file);
    assert.equal(bytes.indexOf('MARKER-E2E'), -1, `a marker is readable in ${file}`);
  }
});

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
