// A patient whose browser prefers Spanish reads the portal in Spanish, emails
// included; the switch in the header changes the language and the choice
// persists, with or without JavaScript; a patient signed in in Spanish gets
// later notices in Spanish. (That no patient text lacks a translation is
// checked on the source, by app/tests/patient_text_is_translated.rs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, launch, waitForPortal, watchedPage } from '../browser.mjs';
import { emails, waitForEmail } from '../mail.mjs';
import { PHONE, assertAccessible, assertFitsWidth } from '../checks.mjs';
import { demoLink, hydrated } from '../portal.mjs';

let browser;
before(async () => {
  await waitForPortal();
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function pageLanguage(page) {
  return page.evaluate(() => document.documentElement.lang);
}

async function checkSpanish(page, what) {
  assert.equal(await pageLanguage(page), 'es', `${what} is marked as Spanish`);
  await assertAccessible(page, `${what} (Spanish)`);
  await assertFitsWidth(page, `${what} (Spanish)`);
}

// The code in a Spanish sign-in email, once it arrives.
async function spanishCode(before, to) {
  const mail = await waitForEmail(before, (m) => m.text.includes('Su código para iniciar sesión') && m.headers.get('to')?.includes(to));
  assert.match(mail.text, /Funciona una sola vez, durante 10 minutos/);
  assert.doesNotMatch(mail.text, /sign-in code|It works once/);
  return mail.text.match(/^\s+(\d{6})\s*$/m)[1];
}

test('a patient whose browser prefers Spanish signs in and reads in Spanish', async () => {
  const { context, page, problems } = await watchedPage(browser, { locale: 'es-MX' });
  await page.setViewportSize(PHONE);
  const patient = `spanish-${process.pid}-${Date.now()}@example.org`;
  await page.goto(demoLink(patient));
  await hydrated(page);
  await page.getByRole('heading', { name: 'Riverside Clinic (demo) le envió un mensaje seguro' }).waitFor();
  await checkSpanish(page, 'the landing page of a notification link');

  const sent = emails();
  await page.getByRole('button', { name: 'Enviarme un código por correo electrónico' }).click();
  await page.getByRole('status').filter({ hasText: 'Hay un código en camino' }).waitFor();
  const code = await spanishCode(sent, patient);
  await page.getByLabel('El código del correo electrónico').fill(code === '000000' ? '000001' : '000000');
  await page.getByRole('button', { name: 'Iniciar sesión', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Ese código no funcionó' }).waitFor();
  await checkSpanish(page, 'the code entry, after a wrong code');
  await page.getByLabel('El código del correo electrónico').fill(code);
  await page.getByRole('button', { name: 'Iniciar sesión', exact: true }).click();

  await page.getByRole('heading', { name: 'Sus mensajes' }).waitFor();
  await checkSpanish(page, 'the inbox');
  await page.getByRole('link', { name: 'Your echocardiogram report' }).click();
  await page.getByText('Hello, your report is attached.').waitFor();
  await page.getByRole('button', { name: 'Enviar respuesta' }).waitFor();
  await checkSpanish(page, 'a thread');
  // A file the server refuses: told in Spanish, and the reply typed is kept.
  await page.getByLabel('Su respuesta').fill('Gracias, doctor.');
  await page.getByLabel('Adjuntar archivos (PDF, PNG, JPEG o texto)').setInputFiles({
    name: 'programa.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ\x90\x00\x03\x00binary'),
  });
  await page.getByRole('button', { name: 'Enviar respuesta' }).click();
  await page.getByRole('alert').filter({ hasText: 'Archivos adjuntos: solo PDF, PNG, JPEG o texto' }).waitFor();
  assert.equal(await page.getByLabel('Su respuesta').inputValue(), 'Gracias, doctor.');

  await page.goto(`${BASE_URL}/statements`);
  await page.getByRole('heading', { name: 'Sus explicaciones de beneficios' }).waitFor();
  await checkSpanish(page, 'the statement list');
  await page.goto(`${BASE_URL}/access-history`);
  await page.getByRole('heading', { name: 'Historial de acceso' }).waitFor();
  await page.locator('.history-entry').filter({ hasText: 'Usted abrió una conversación' }).first().waitFor();
  await checkSpanish(page, 'the access history');

  // The clinic writes again: the notice is in the language the patient signed in with.
  const beforeNotice = emails();
  demoLink(patient);
  const notice = await waitForEmail(beforeNotice, (m) => m.headers.get('to')?.includes(patient) && m.text.includes('mensaje seguro'));
  assert.match(notice.text, /Riverside Clinic \(demo\) le envió un mensaje seguro\./);
  assert.match(notice.text, /Por su privacidad, este correo no dice de qué trata el mensaje\./);

  await page.goto(`${BASE_URL}/inbox`);
  await page.getByRole('button', { name: 'Cerrar sesión', exact: true }).click();
  await page.getByRole('heading', { name: 'Su sesión está cerrada' }).waitFor();
  await checkSpanish(page, 'the signed-out page');
  // The refused reply's 400 is the only failed request.
  const unexpected = problems.filter((p) => !p.endsWith('/reply') && !p.includes('status of 400'));
  assert.deepEqual(unexpected, [], 'no other console errors or failed requests');
  // Last: the browser reports the 404 itself.
  await page.goto(`${BASE_URL}/no/such/page`);
  await page.getByRole('heading', { name: 'Página no encontrada' }).waitFor();
  await checkSpanish(page, 'the not-found page');
  await context.close();
});

for (const javaScriptEnabled of [true, false]) {
  test(`the language switch persists (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const context = await browser.newContext({ locale: 'en-US', javaScriptEnabled });
    const page = await context.newPage();
    await page.goto(`${BASE_URL}/sign-in`);
    if (javaScriptEnabled) await hydrated(page);
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    assert.equal(await pageLanguage(page), 'en');

    // Back on the same page, in Spanish, and still Spanish on the next page
    // although the browser asks for English.
    await page.getByRole('button', { name: 'Español' }).click();
    await page.getByRole('heading', { name: 'Iniciar sesión', exact: true }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    assert.equal(await pageLanguage(page), 'es');
    await page.goto(`${BASE_URL}/`);
    await page.getByRole('heading', { name: 'Sus mensajes de salud seguros' }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'portico_lang');
    assert.equal(cookie?.value, 'es');
    assert.ok(cookie.httpOnly && cookie.sameSite === 'Lax' && cookie.expires > Date.now() / 1000 + 300 * 86400);

    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Your secure health messages' }).waitFor();
    assert.equal(await pageLanguage(page), 'en');
    await context.close();
  });
}

test('the switch refuses an unknown language and never leaves the site', async () => {
  const form = (body) => fetch(`${BASE_URL}/language`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: BASE_URL, 'sec-fetch-site': 'same-origin' },
    body,
  });
  const bad = await form('lang=fr&back=%2Finbox');
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /^lang: /);
  const away = await form('lang=es&back=https%3A%2F%2Fevil.example%2F');
  assert.equal(away.status, 303);
  assert.equal(away.headers.get('location'), '/');
});
