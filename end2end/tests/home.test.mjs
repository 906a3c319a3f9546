// The landing page: rendered on the server, hydrated in Chromium under the
// strict Content-Security-Policy, and interactive once hydrated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, launch, waitForPortal, watchedPage } from '../browser.mjs';

let browser;
before(async () => {
  await waitForPortal();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the server renders the landing page before any script runs', async () => {
  const res = await fetch(`${BASE_URL}/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<h1>Your secure health messages<\/h1>/);
  assert.match(html, /data-hydrated="false"/);
  assert.match(res.headers.get('content-security-policy'), /'nonce-[A-Za-z0-9_-]{22,}'/);
});

test('the page hydrates with no console errors and the text-size control works', async () => {
  const { context, page, problems } = await watchedPage(browser);
  await page.goto(`${BASE_URL}/`);
  // Set by an effect, which runs only once the WebAssembly has hydrated the page.
  await page.locator('section.home[data-hydrated="true"]').waitFor({ timeout: 30_000 });

  const button = page.getByRole('button', { name: 'Larger text' });
  assert.equal(await button.getAttribute('aria-pressed'), 'false');
  await button.click();
  const pressed = page.getByRole('button', { name: 'Standard text' });
  await pressed.waitFor();
  assert.equal(await pressed.getAttribute('aria-pressed'), 'true');
  assert.match(await page.locator('section.home').getAttribute('class'), /\blarge-text\b/);

  assert.deepEqual(problems, [], 'no console errors, exceptions or failed requests');
  await context.close();
});

test('an unknown address shows the not-found page', async () => {
  const { context, page } = await watchedPage(browser);
  const res = await page.goto(`${BASE_URL}/no/such/page`);
  assert.equal(res.status(), 404);
  assert.equal(await page.locator('h1').textContent(), 'Page not found');
  await context.close();
});
