// Mail the end-to-end portal sent, as the test SMTP server received it: one
// file per message (NNNNNN.eml, in order of arrival) under the maildir the
// Makefile gives in E2E_MAILDIR. A message is parsed just enough to read it:
// headers, and the text and HTML parts decoded (7bit, quoted-printable, base64).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const MAILDIR = process.env.E2E_MAILDIR ?? join(process.env.PORTICO_DATA_DIR ?? 'target/e2e-data', 'maildir');

// The names of the messages received so far, oldest first.
export function emails() {
  try {
    return readdirSync(MAILDIR).filter((f) => f.endsWith('.eml')).sort();
  } catch {
    return [];
  }
}

function splitHead(raw) {
  const at = raw.indexOf('\r\n\r\n');
  const head = (at < 0 ? raw : raw.slice(0, at)).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: at < 0 ? '' : raw.slice(at + 4) };
}

function decode(body, encoding = '7bit') {
  switch (encoding.toLowerCase()) {
    case 'quoted-printable':
      return Buffer.from(
        body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      ).toString('utf8');
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

// { raw, headers, subject, text, html, content }: `content` is the whole
// message less its MIME boundaries (random letters), for "never says X" checks.
export function readEmail(name) {
  const raw = readFileSync(join(MAILDIR, name), 'utf8');
  const { headers, body } = splitHead(raw);
  const mail = { raw, headers, subject: headers.get('subject') ?? '', text: '', html: '', content: raw };
  const boundary = (headers.get('content-type') ?? '').match(/boundary="?([^";]+)"?/)?.[1];
  const parts = boundary ? body.split(`--${boundary}`).slice(1, -1) : [raw];
  if (boundary) mail.content = raw.split(boundary).join('');
  for (const part of parts) {
    const { headers: h, body: b } = splitHead(part.replace(/^\r\n/, ''));
    const type = h.get('content-type') ?? 'text/plain';
    const decoded = decode(b.replace(/\r\n$/, ''), h.get('content-transfer-encoding'));
    if (type.startsWith('text/plain')) mail.text = decoded;
    if (type.startsWith('text/html')) mail.html = decoded;
  }
  return mail;
}

// Waits for a message that was not there before and matches `wanted`.
export async function waitForEmail(before, wanted = () => true, deadlineMs = 20_000) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const fresh = emails().filter((f) => !before.includes(f)).map(readEmail).filter(wanted);
    if (fresh.length > 0) return fresh[fresh.length - 1];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no email arrived at the SMTP server (maildir ${MAILDIR})`);
}

// Waits for a new sign-in code email (notices may arrive meanwhile) and returns
// its code (from the text part).
export async function newCode(before, deadlineMs = 20_000) {
  const mail = await waitForEmail(before, (m) => m.text.includes('sign-in code'), deadlineMs);
  assert.doesNotMatch(mail.content, /diagnos|result|lab|prescription/i, 'no health words in the email');
  const code = mail.text.match(/^\s+(\d{6})\s*$/m);
  assert.ok(code, `no code in: ${mail.raw}`);
  return code[1];
}
