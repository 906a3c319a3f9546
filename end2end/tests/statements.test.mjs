// A health plan publishes EOBs over HTTP; the member gets one notice, signs in
// from it, reads the statement, and downloads the PDF and the original JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_URL, launch, waitForPortal, watchedPage } from '../browser.mjs';
import { emails, newCode, readEmail, waitForEmail } from '../mail.mjs';
import { PHONE, assertAccessible, assertFitsWidth } from '../checks.mjs';
import { PORTICO, demoLink, enrolledStaff } from '../portal.mjs';

const DATA_DIR = process.env.PORTICO_DATA_DIR ?? 'target/e2e-data';
const EB3500 = JSON.parse(
  readFileSync('core/tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json', 'utf8'),
);
const MARKER = 'MARKER-E2E-EOB';

let browser;
before(async () => {
  await waitForPortal();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

function portico(...args) {
  return execFileSync(PORTICO, args, { env: process.env, encoding: 'utf8' }).trim();
}

// A Bundle with the member's Patient and one EOB for `claim`; the EOB's text,
// exactly as sent, is what the JSON download must give back.
function bundle(email, claim) {
  const eob = structuredClone(EB3500);
  eob.identifier[0].value = claim;
  eob.patient = { reference: 'urn:uuid:5c0d1e2f-0000-4000-8000-00000000e2e0' };
  eob.item[0].productOrService.coding[0].display = `${MARKER} cleaning`;
  const eobText = JSON.stringify(eob, null, 1);
  const patient = JSON.stringify({ resourceType: 'Patient', telecom: [{ system: 'email', value: email }] });
  const text = `{"resourceType":"Bundle","type":"collection","entry":[` +
    `{"fullUrl":"urn:uuid:5c0d1e2f-0000-4000-8000-00000000e2e0","resource":${patient}},` +
    `{"resource":${eobText}}]}`;
  return { text, eobText };
}

async function publish(key, body) {
  const res = await fetch(`${BASE_URL}/api/v1/eob`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' },
    body,
  });
  const answer = await res.json();
  assert.equal(res.status, 201, JSON.stringify(answer));
  return answer;
}

test('a plan publishes; the member gets one notice, reads the statement, downloads PDF and JSON', async () => {
  const planName = `E2E Health Plan ${process.pid}`;
  const plan = portico('org', 'add', '--kind', 'health-plan', '--name', planName);
  const key = portico('apikey', 'create', '--org', plan, '--scope', 'eob:publish', '--label', 'e2e');
  const email = `member-${process.pid}@example.org`;
  const claim = `E2E-CLAIM-${process.pid}`;
  const first = bundle(email, claim);

  const before = emails();
  await publish(key, first.text);
  await publish(key, bundle(email, `${claim}-2`).text);

  // One notice for both, naming the plan and nothing of the statements.
  const isNotice = (m) => m.subject === `You have new statements from ${planName}`;
  const notice = await waitForEmail(before, isNotice);
  assert.doesNotMatch(notice.content, /MARKER|E2E-CLAIM|\$\d|cleaning|Provider/i);
  const link = notice.text.match(/http:\/\/localhost:\d+\/open\/\S+/)[0];

  const { context, page } = await watchedPage(browser);
  await page.goto(link);
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  await page.getByRole('heading', { name: `You have new statements from ${planName}` }).waitFor();
  const codeBefore = emails();
  await page.getByRole('button', { name: 'Email me a code' }).click();
  const code = await newCode(codeBefore);
  // The outbox sends in order: a second notice, had one been queued with the
  // publications, would have arrived before this code.
  const notices = emails().filter((f) => !before.includes(f)).map(readEmail).filter(isNotice);
  assert.equal(notices.length, 1, 'statements are coalesced into one notice a day');
  await page.getByLabel('The code from the email').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your messages' }).waitFor();

  await page.getByRole('link', { name: 'Your statements (Explanation of Benefits)' }).click();
  await page.getByRole('heading', { name: 'Your statements' }).waitFor();
  const rows = page.getByRole('link', { name: planName });
  await rows.first().waitFor();
  assert.equal(await rows.count(), 2, 'both statements are listed');
  // Open the statement for the first claim.
  for (let i = 0; i < 2; i++) {
    await rows.nth(i).click();
    await page.getByRole('heading', { name: 'Explanation of Benefits' }).waitFor();
    if ((await page.locator('.claim-number').textContent()) === claim) break;
    await page.goBack();
  }
  assert.equal(await page.locator('.claim-number').textContent(), claim);
  await page.getByText('This is not a bill.').waitFor();
  await page.getByText(`${MARKER} cleaning`).first().waitFor();

  const pdfHref = await page.getByRole('link', { name: 'Download PDF' }).getAttribute('href');
  const pdf = await page.request.get(`${BASE_URL}${pdfHref}`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.match(pdf.headers()['content-disposition'], /^attachment; /);
  const pdfBytes = await pdf.body();
  assert.equal(pdfBytes.subarray(0, 5).toString(), '%PDF-');
  assert.match(pdfBytes.toString('latin1'), /%%EOF\s*$/);
  assert.ok(pdfBytes.includes(claim), 'the PDF carries the claim number');

  const jsonHref = await page.getByRole('link', { name: 'Download FHIR JSON' }).getAttribute('href');
  const json = await page.request.get(`${BASE_URL}${jsonHref}`);
  assert.equal(json.status(), 200);
  assert.ok((await json.body()).equals(Buffer.from(first.eobText)), 'the JSON is byte-equal to what was published');

  // Readable to everyone (WCAG 2.1 AA) and on a phone: the wide table of
  // service lines scrolls in its own box, not the page.
  await assertAccessible(page, 'a statement');
  await page.setViewportSize(PHONE);
  await assertFitsWidth(page, 'a statement');
  // Printed: the statement alone, its "not a bill" notice included, without
  // the page's header, the downloads or the correction form.
  await page.emulateMedia({ media: 'print' });
  assert.ok(await page.getByText('This is not a bill.').isVisible());
  assert.ok(await page.locator('.service-lines').isVisible());
  for (const furniture of ['.site-header', '.downloads', '.correction']) {
    assert.equal(await page.locator(furniture).isVisible(), false, `${furniture} is printed`);
  }
  await page.emulateMedia({ media: 'screen' });
  // The member's access history lists the statement's view, with a link to it.
  await page.goto(`${BASE_URL}/access-history`);
  const viewed = page.locator('.history-entry').filter({ hasText: 'You opened a statement' }).first();
  await viewed.waitFor();
  assert.match(await viewed.getByRole('link', { name: 'Open the statement' }).getAttribute('href'), /^\/statements\/[0-9a-f-]+$/);
  await page.goto(`${BASE_URL}/statements`);
  await page.getByRole('heading', { name: 'Your statements' }).waitFor();
  await assertAccessible(page, 'the statement list');
  await assertFitsWidth(page, 'the statement list');

  // Not signed in, the downloads open nothing.
  const stranger = await browser.newContext();
  const refused = await stranger.request.get(`${BASE_URL}${pdfHref}`);
  assert.equal(refused.status(), 401);
  await stranger.close();
  await context.close();

  // The statement is readable nowhere at rest: not in the database, its journal, or any email.
  for (const file of filesUnder(DATA_DIR)) {
    assert.equal(readFileSync(file).indexOf(MARKER), -1, `the marker is readable in ${file}`);
  }
});

test('without JavaScript a member signs in with a code and reads a message and a statement', async () => {
  const planName = `E2E Plan Without Script ${process.pid}`;
  const plan = portico('org', 'add', '--kind', 'health-plan', '--name', planName);
  const key = portico('apikey', 'create', '--org', plan, '--scope', 'eob:publish', '--label', 'e2e-no-script');
  const email = `no-script-${process.pid}@example.org`;
  const claim = `E2E-NO-SCRIPT-${process.pid}`;
  await publish(key, bundle(email, claim).text);
  // The demo clinic writes to the same address, and gives its link.
  const link = demoLink(email);

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole('heading', { name: 'Riverside Clinic (demo) sent you a secure message' }).waitFor();
  const before = emails();
  await page.getByRole('button', { name: 'Email me a code' }).click();
  const code = await newCode(before);
  // A wrong code: the server-rendered page says so, and the right one works.
  await page.getByLabel('The code from the email').fill(code === '000000' ? '000001' : '000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'That code did not work' }).waitFor();
  assert.doesNotMatch(page.url(), /\d{6}/, 'no code in the address');
  await page.getByLabel('The code from the email').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your messages' }).waitFor();

  await page.getByRole('link', { name: 'Your echocardiogram report' }).click();
  await page.getByText('Hello, your report is attached.').waitFor();
  await page.goto(`${BASE_URL}/statements`);
  await page.getByRole('link', { name: planName }).click();
  await page.getByRole('heading', { name: 'Explanation of Benefits' }).waitFor();
  assert.equal(await page.locator('.claim-number').textContent(), claim);
  // No script ran: the page never hydrated.
  assert.equal(await page.locator('main').getAttribute('data-hydrated'), 'false');
  await page.goto(`${BASE_URL}/inbox`);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  await context.close();
});

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

test("a health plan's admin makes a publishing key on the systems page, and it publishes", async () => {
  const planName = `E2E Plan With Admin ${process.pid}`;
  const plan = portico('org', 'add', '--kind', 'health-plan', '--name', planName);
  const admin = await enrolledStaff(browser, plan, 'admin', planName);
  const page = admin.page;
  await page.goto(`${BASE_URL}/staff/admin/systems`);
  await page.locator('main[data-hydrated="true"]').waitFor();
  await page.getByLabel('What it is for (for example Claims system)').fill('Claims system');
  await page.getByRole('button', { name: 'Create publishing key' }).click();
  const secret = (await page.locator('.api-key-secret').textContent()).trim();
  await page.getByText(/^Claims system$/).waitFor();
  await page.locator('.key-list li').filter({ hasText: 'publishes statements' }).waitFor();
  await assertAccessible(page, "a health plan's systems page");

  const answer = await publish(secret, bundle(`plan-admin-${process.pid}@example.org`, `E2E-ADMIN-KEY-${process.pid}`).text);
  assert.equal(answer.eobs.length, 1);
  await admin.context.close();
});
