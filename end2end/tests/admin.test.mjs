// An organization's admin manages its staff: invites (the one-time link is
// shown once), changes a role, and disables an account, whose open session
// ends at once. Anyone else is refused the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BASE_URL, launch, waitForPortal } from '../browser.mjs';
import { assertAccessible } from '../checks.mjs';
import { PORTICO, enrolledStaff } from '../portal.mjs';

// A 1×1 PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

let browser;
before(async () => {
  await waitForPortal();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an admin invites, changes a role and disables an account, whose session ends at once', async () => {
  const patient = `audited-${process.pid}@example.org`;
  const demo = execFileSync(PORTICO, ['demo', '--patient', patient], { env: process.env, encoding: 'utf8' });
  const org = demo.match(/Organization id \(for `portico staff add --org`\): (\S+)/)[1];
  const admin = await enrolledStaff(browser, org, 'admin');
  const member = await enrolledStaff(browser, org, 'staff');

  // Not an admin: refused, with a real 403.
  const refused = await member.page.goto(`${BASE_URL}/staff/admin`);
  assert.equal(refused.status(), 403);
  await member.page.getByRole('heading', { name: 'You cannot open this' }).waitFor();
  await member.page.goto(`${BASE_URL}/staff`);
  await member.page.getByRole('heading', { name: 'Riverside Clinic (demo) · staff' }).waitFor();

  const page = admin.page;
  await page.getByRole('link', { name: 'Administration: staff and roles' }).click();
  await page.getByRole('heading', { name: 'Administration', exact: true }).waitFor();
  await page.locator('main[data-hydrated="true"]').waitFor();
  const row = (name) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name }) });
  await row('E2E staff').waitFor();
  await assertAccessible(page, 'the staff administration page');

  // A bad address is named, and nothing typed is lost.
  await page.getByLabel('Name, as patients will see it').fill('Dr. Invited Person');
  await page.getByLabel('Work email address').fill('not-an-address');
  await page.getByLabel('Work email address').evaluate((el) => el.setAttribute('type', 'text'));
  await page.getByRole('button', { name: 'Invite' }).click();
  await page.getByRole('alert').filter({ hasText: /^email: / }).waitFor();
  assert.equal(await page.getByLabel('Name, as patients will see it').inputValue(), 'Dr. Invited Person');

  await page.getByLabel('Work email address').fill(`invited-${process.pid}-${Date.now()}@riverside.example`);
  await page.getByLabel('Role', { exact: true }).selectOption('clinician');
  await page.getByRole('button', { name: 'Invite' }).click();
  const link = await page.locator('.enrollment-link').textContent();
  assert.match(link, /^http:\/\/localhost:\d+\/enroll\/\S+$/);
  await row('Dr. Invited Person').filter({ hasText: 'Invited (not yet enrolled)' }).waitFor();
  const invited = await browser.newContext();
  const invitedPage = await invited.newPage();
  await invitedPage.goto(link);
  await invitedPage.getByLabel(/Choose a password/).waitFor();
  await invited.close();

  // A role change applies at the member's next request.
  await page.getByLabel('New role for E2E staff').selectOption('billing');
  await page.getByRole('button', { name: 'Change role of E2E staff' }).click();
  await row('E2E staff').filter({ hasText: 'billing' }).waitFor();
  await member.page.reload();
  await member.page.getByRole('heading', { name: 'Riverside Clinic (demo) · billing' }).waitFor();

  // Disabled: the member's open session ends at once.
  await page.getByRole('button', { name: 'Disable E2E staff' }).click();
  await row('E2E staff').filter({ hasText: 'Disabled' }).waitFor();
  await member.page.reload();
  await member.page.getByRole('heading', { name: 'Please sign in' }).waitFor();
  // The admin cannot disable or demote themselves by a slip.
  assert.equal(await page.getByRole('button', { name: 'Disable E2E admin' }).count(), 0);


  // The audit log: the demo clinician's messages to the patient, found by
  // the patient's email (posted, so it is in no address), then the disabling
  // by action, and the export.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByLabel("Patient's email address").fill(patient);
  await page.getByRole('button', { name: 'Search' }).click();
  const events = page.locator('.audit-list tbody tr');
  await events.filter({ hasText: 'Dr. Sam Rivera (staff)' }).filter({ hasText: 'message_sent' }).first().waitFor();
  assert.equal(await events.count(), 3 + 1, 'three messages sent, and this search');
  assert.ok(!page.url().includes('example.org'), 'the email is not in the address');
  await assertAccessible(page, 'the audit log search');

  await page.getByLabel("Patient's email address").fill('');
  await page.getByLabel('Action').selectOption('staff_disabled');
  await page.getByRole('button', { name: 'Search' }).click();
  await events.filter({ hasText: 'E2E admin (staff)' }).filter({ hasText: 'staff_disabled' }).waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: /^Download these events as CSV/ }).click(),
  ]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.match(csv[0], /^seq,occurred_at,/);
  assert.equal(csv.length, 2, `one disabling: ${csv.join('\n')}`);
  assert.match(csv[1], /,staff_disabled,/);


  // Alert rules: a bad hour is named, good rules are kept.
  await page.goto(`${BASE_URL}/staff/admin/alerts`);
  await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor();
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByLabel(/more than this many patients/).fill('5');
  await page.getByLabel(/Business hours start/).fill('9');
  await page.getByLabel(/Business hours end/).fill('25');
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByRole('alert').filter({ hasText: /^business_hours: / }).waitFor();
  await page.getByLabel(/Business hours end/).fill('17');
  await page.getByLabel(/Time zone of business hours/).fill('Mars/Olympus_Mons');
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByRole('alert').filter({ hasText: /^time_zone: / }).waitFor();
  await page.getByLabel(/Time zone of business hours/).fill('America/Chicago');
  await page.getByRole('button', { name: 'Save rules' }).click();
  await page.getByRole('status').filter({ hasText: 'Rules saved.' }).waitFor();
  await page.reload();
  assert.equal(await page.getByLabel(/more than this many patients/).inputValue(), '5');
  assert.equal(await page.getByLabel(/Business hours end/).inputValue(), '17');
  assert.equal(await page.getByLabel(/Time zone of business hours/).inputValue(), 'America/Chicago');
  await page.getByText('No alerts.').waitFor();
  await assertAccessible(page, 'the alerts page');


  // A mailbox, then a key sending from it: the secret works once shown, and
  // not after it is revoked.
  await page.goto(`${BASE_URL}/staff/admin/systems`);
  await page.getByRole('heading', { name: 'Mailboxes and API keys' }).waitFor();
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByLabel('Name, as patients see it').fill('E2E Lab');
  await page.getByRole('button', { name: 'Create mailbox' }).click();
  await page.locator('.mailbox-list li', { hasText: 'E2E Lab (clinical)' }).waitFor();
  await page.getByLabel('What it is for').fill('E2E lab feed');
  await page.getByLabel('Mailbox it sends from').selectOption({ label: 'E2E Lab' });
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.locator('.api-key-secret').textContent()).trim();
  assert.match(secret, /^ptk_\S{43}$/);
  const send = () => fetch(`${BASE_URL}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to: patient, subject: 'Lab results', body: 'Your results are in.' }),
  });
  assert.equal((await send()).status, 201);
  await assertAccessible(page, 'the mailboxes and API keys page');
  await page.getByRole('button', { name: 'Revoke E2E lab feed' }).click();
  await page.locator('.key-list li', { hasText: 'E2E lab feed' }).filter({ hasText: 'Revoked' }).waitFor();
  assert.equal((await send()).status, 401);


  // Branding: a colour too light for white text is refused by name; a good
  // one, a new name and a logo show on the clinic's pages.
  await page.goto(`${BASE_URL}/staff/admin/branding`);
  await page.getByRole('heading', { name: 'Branding' }).waitFor();
  await page.locator('main[data-hydrated="true"]').waitFor();
  await assertAccessible(page, 'the branding page');
  const orgName = `Riverside Heart ${process.pid}`;
  await page.getByLabel(/^Name, as patients see it/).fill(orgName);
  await page.getByLabel(/^Accent colour/).fill('#ffee00');
  await page.getByRole('button', { name: 'Save branding' }).click();
  await page.getByRole('alert').filter({ hasText: /^colour: is too light/ }).waitFor();
  assert.equal(await page.getByLabel(/^Name, as patients see it/).inputValue(), orgName, 'nothing typed is lost');
  await page.getByLabel(/^Accent colour/).fill('#7a1f5c');
  await page.getByLabel(/^Logo/).setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
  await page.getByRole('button', { name: 'Save branding' }).click();
  await page.getByRole('status').filter({ hasText: 'Branding saved.' }).waitFor();
  const css = await (await fetch(`${BASE_URL}/brand/${org}/colours.css`)).text();
  assert.equal(css.trim(), ':root { --accent: #7a1f5c; }');
  // The staff's pages and the patient's landing page from the clinic's email
  // show its logo and name in the portal header.
  await page.goto(`${BASE_URL}/staff`);
  await page.getByRole('banner').getByRole('img', { name: `${orgName} logo` }).waitFor();
  await page.getByRole('banner').getByText(orgName, { exact: true }).waitFor();
  const landingLink = demo.split('\n').find((l) => l.includes('/open/')).trim();
  const visitor = await browser.newContext();
  const landing = await visitor.newPage();
  await landing.goto(landingLink);
  await landing.getByRole('heading', { name: `${orgName} sent you a secure message` }).waitFor();
  await landing.locator('main[data-hydrated="true"]').waitFor();
  const logo = landing.getByRole('banner').getByRole('img', { name: `${orgName} logo` });
  await logo.waitFor();
  await landing.getByRole('banner').getByText(orgName, { exact: true }).waitFor();
  // A page of no one organization carries none.
  await landing.goto(`${BASE_URL}/sign-in`);
  await landing.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await landing.getByRole('banner').getByRole('img').count(), 0);
  await landing.goto(landingLink);
  await logo.waitFor();
  assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth === 1), 'the logo loads');
  await assertAccessible(landing, 'a branded landing page');
  await visitor.close();

  await admin.context.close();
  await member.context.close();
});
