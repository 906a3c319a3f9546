// Every page a patient sees, on a phone's width: WCAG 2.1 AA by axe-core, no
// sideways scrolling, the whole of reading and replying by keyboard alone, and
// printing a message without the page around it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, launch, waitForPortal, watchedPage } from '../browser.mjs';
import { emails, newCode } from '../mail.mjs';
import { PHONE, assertAccessible, assertFitsWidth } from '../checks.mjs';
import { demoLink, hydrated, signIn } from '../portal.mjs';

let browser;
before(async () => {
  await waitForPortal();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function phonePage() {
  const watched = await watchedPage(browser);
  await watched.page.setViewportSize(PHONE);
  return watched;
}

async function checkPage(page, what) {
  await assertAccessible(page, what);
  await assertFitsWidth(page, what);
}

test('every patient page passes axe and fits 360 px', async () => {
  const { context, page } = await phonePage();
  for (const [path, heading] of [
    ['/', 'Your secure health messages'],
    ['/sign-in', 'Sign in'],
    ['/inbox', 'Please sign in'],
    ['/no/such/page', 'Page not found'],
  ]) {
    await page.goto(`${BASE_URL}${path}`);
    await hydrated(page);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await checkPage(page, `${path} (signed out)`);
  }
  await signIn(page, undefined, { check: (what) => checkPage(page, what) });
  await checkPage(page, 'the inbox');

  await page.getByRole('link', { name: 'Your echocardiogram report' }).click();
  await page.getByText('Hello, your report is attached.').waitFor();
  await checkPage(page, 'a thread with a file');

  await page.goto(`${BASE_URL}/statements`);
  await page.getByRole('heading', { name: 'Your statements' }).waitFor();
  await checkPage(page, 'the statement list');

  await page.goto(`${BASE_URL}/inbox`);
  await page.getByRole('link', { name: /^Access history/ }).click();
  await page.getByRole('heading', { name: 'Access history' }).waitFor();
  // The demo clinician wrote; the patient opened the thread.
  const entries = page.locator('.history-entry');
  await entries.filter({ hasText: 'Dr. Sam Rivera (clinician), Riverside Clinic (demo) sent a message' }).first().waitFor();
  await entries.filter({ hasText: 'You opened a conversation' }).first().waitFor();
  await checkPage(page, 'the access history');

  await page.goto(`${BASE_URL}/inbox`);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  await checkPage(page, 'the signed-out page');
  await context.close();
});

// Presses Tab until the focused element's accessible text matches `name`, as
// a keyboard user would; fails if it is never reached.
async function tabTo(page, name, limit = 40) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return '';
      const byLabel = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
      return (el.getAttribute('aria-label') || byLabel || el.textContent || '').trim();
    });
    if (name instanceof RegExp ? name.test(label) : label === name) return;
  }
  assert.fail(`"${name}" was not reached with Tab`);
}

test('a patient signs in, reads and replies with the keyboard alone', async () => {
  const { context, page, problems } = await phonePage();
  await page.goto(demoLink());
  await hydrated(page);
  const before = emails();
  await tabTo(page, 'Email me a code');
  await page.keyboard.press('Enter');
  const code = await newCode(before);
  await tabTo(page, 'The code from the email');
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Your messages' }).waitFor();

  await tabTo(page, 'Before your visit on Monday');
  await page.keyboard.press('Enter');
  await page.getByText('Please bring your medication list.').waitFor();
  await tabTo(page, 'Your reply');
  await page.keyboard.type('Thank you, I will bring it.');
  await tabTo(page, 'Send reply');
  await page.keyboard.press('Enter');
  await page.locator('.message[data-from="patient"]').getByText('Thank you, I will bring it.').waitFor();
  assert.deepEqual(problems.filter((p) => !p.includes('HTTP 4')), [], 'no console errors');
  await context.close();
});

test('a printed message shows the message alone', async () => {
  const { context, page } = await watchedPage(browser);
  await signIn(page);
  await page.getByRole('link', { name: 'Your echocardiogram report' }).click();
  const body = page.getByText('Hello, your report is attached.');
  await body.waitFor();
  await page.emulateMedia({ media: 'print' });
  assert.ok(await body.isVisible(), 'the message prints');
  assert.ok(await page.getByRole('heading', { name: 'Your echocardiogram report' }).isVisible());
  for (const furniture of ['.site-header', '.site-footer', '#reply-form']) {
    await page.locator(furniture).waitFor({ state: 'attached' });
    assert.equal(await page.locator(furniture).isVisible(), false, `${furniture} is printed`);
  }
  await context.close();
});
