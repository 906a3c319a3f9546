// Checks every page of the suite passes: WCAG 2.1 AA by axe-core, and no
// sideways scrolling at a phone's width.
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';

const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// Fails naming each WCAG 2.1 A/AA violation axe finds on the page as it is now.
export async function assertAccessible(page, what) {
  const { violations } = await new AxeBuilder({ page }).withTags(WCAG_21_AA).analyze();
  const report = violations
    .map((v) => `- ${v.id} (${v.impact}): ${v.help}\n` +
      v.nodes.slice(0, 3).map((n) => `    at ${n.target.join(' ')}: ${n.failureSummary?.split('\n')[1] ?? ''}`).join('\n'))
    .join('\n');
  assert.equal(violations.length, 0, `${what} (${page.url()}) breaks WCAG 2.1 AA:\n${report}`);
}

// A phone's width: the page must fit it, with wide tables scrolling in their own box.
export const PHONE = { width: 360, height: 740 };

export async function assertFitsWidth(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${what} scrolls sideways at ${innerWidth} px: ${scrollWidth} px wide`);
}
