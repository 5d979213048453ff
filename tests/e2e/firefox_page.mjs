// One page in Firefox, driven over WebDriver BiDi (puppeteer-core; Debian's firefox-esr, no
// driver download), for tests/e2e/test_other_browsers.py. The test sends one JSON request a
// line on stdin ({op, ...}) and reads one JSON answer a line on stdout ({ok, value} or
// {ok: false, error}), the first one once the browser has started; the page's console errors and uncaught errors are kept from the start.
//
//   node firefox_page.mjs FIREFOX_EXECUTABLE
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const browser = await puppeteer.launch({
  browser: 'firefox',
  protocol: 'webDriverBiDi',
  executablePath: process.argv[2],
  headless: true,
  defaultViewport: { width: 1280, height: 900 },
});
const page = await browser.newPage();
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
process.stdout.write(`${JSON.stringify({ ok: true, value: await browser.version() })}\n`); // launched

const ops = {
  goto: ({ url }) => page.goto(url).then(() => null),
  evaluate: ({ expression }) => page.evaluate(expression),
  click: ({ selector }) => page.click(selector),
  select: ({ selector, value }) => page.select(selector, value).then(() => null),
  // points in CSS pixels of the viewport; the button is held from the first to the last
  stroke: async ({ points }) => {
    await page.mouse.move(...points[0]);
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(...p);
    await page.mouse.up();
  },
  screenshot: ({ path }) => page.screenshot({ path, fullPage: true }).then(() => null),
  errors: () => errors,
};

async function answer(line) {
  const { op, ...args } = JSON.parse(line);
  if (op === 'close') { lines.close(); return; }
  try {
    const value = await ops[op](args);
    process.stdout.write(`${JSON.stringify({ ok: true, value: value ?? null })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(e?.message ?? e) })}\n`);
  }
}

// one request at a time, in order; the end of stdin (or 'close') closes the browser
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => { queue = queue.then(() => answer(line)); });
lines.on('close', () => { queue.then(() => browser.close()).finally(() => process.exit(0)); });
