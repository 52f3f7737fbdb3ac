// Drives the portal's pictures and sign-up in headless Chromium: a
// supplier opens a patient's chart with its trend plots, the request log's
// timeline of an app and a conformance run's chart; then a new supplier
// signs up, is refused while pending, an operator approves, and the new
// supplier signs in for the first time. A screenshot of every step is
// saved. Prints {"steps": [...]} on stdout: what each page showed.
//
// usage: node pictures.mjs PLAYWRIGHT_INDEX SERVER_URL SCREENSHOT_DIR SUPPLIER PASSWORD OPERATOR PASSWORD SANDBOX PATIENT CLIENT_ID
// Chromium comes from $CHROMIUM (default /usr/bin/chromium).
import { pathToFileURL } from "node:url";

const [pw, server, shots, user, pass, opUser, opPass, sandbox, patient, clientId] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(pw).href);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const steps = [];
const shot = async (page, name) => {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  steps.push({ name, url: page.url(), text: (await page.textContent("main")).replace(/\s+/g, " ").trim().slice(0, 4000) });
};
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);
const signIn = async (page, u, p) => {
  await page.goto(`${server}/portal/login`);
  await page.fill("input[name=username]", u);
  await page.fill("input[name=password]", p);
  await submit(page, "button.primary");
};
const errors = [];
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  // Every console error counts (a refused script or style shows here)
  // but a missing resource, which the response tells with its URL.
  page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text()); });
  page.on("response", r => { if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`); });
  page.on("pageerror", e => errors.push(String(e)));
  await signIn(page, user, pass);

  await page.goto(`${server}/portal/sandboxes/${sandbox}/patients/${patient}`);
  await page.waitForSelector("figure.plot svg");
  steps.push({ name: "copy-buttons", count: await page.locator(".copy-button").count(), plots: await page.locator("figure.plot svg").count() });
  await shot(page, "portal-chart");
  // The first screen, at full size: the persona, the URLs, the first plots.
  await page.screenshot({ path: `${shots}/portal-chart-top.png` });
  // Only the plots, at full size, to judge them by eye.
  await page.locator("section[aria-labelledby=plots-h]").screenshot({ path: `${shots}/portal-chart-plots.png` });

  await page.goto(`${server}/portal/sandboxes/${sandbox}/requests?client=${encodeURIComponent(clientId)}`);
  await page.waitForSelector("svg.timeline");
  await shot(page, "portal-timeline");
  await page.locator("figure.timeline").screenshot({ path: `${shots}/portal-timeline-picture.png` });

  await page.goto(`${server}/portal/sandboxes/${sandbox}/runs`);
  await page.selectOption("select[name=client]", clientId);
  await page.selectOption("select[name=profile]", "smart-app-patient");
  await submit(page, "form[action$='/runs'] button.primary");
  await page.waitForSelector("svg.bars");
  await shot(page, "portal-run-chart");
  await ctx.close();

  // Sign-up, pending, approval, first sign-in.
  const newcomer = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await newcomer.goto(`${server}/portal/login`);
  await submit(newcomer, "a[href='/portal/signup']");
  await newcomer.fill("input[name=name]", "Ingrid Nordlys");
  await newcomer.fill("input[name=email]", "ingrid@nordlys.example");
  await newcomer.fill("input[name=organisation]", "Nordlys Helse AS");
  await newcomer.fill("input[name=password]", "ingrid-password-1");
  await shot(newcomer, "portal-signup");
  await submit(newcomer, "button.primary");
  await shot(newcomer, "portal-signup-received");
  await newcomer.fill("input[name=username]", "ingrid@nordlys.example");
  await newcomer.fill("input[name=password]", "ingrid-password-1");
  await submit(newcomer, "button.primary");
  await shot(newcomer, "portal-signup-pending-refused");

  const op = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await signIn(op, opUser, opPass);
  await op.goto(`${server}/portal/accounts`);
  await shot(op, "portal-accounts-pending");
  await submit(op, "form[action='/portal/accounts/ingrid@nordlys.example/approve'] button");
  await shot(op, "portal-accounts-approved");

  await signIn(newcomer, "ingrid@nordlys.example", "ingrid-password-1");
  await shot(newcomer, "portal-signup-first-sign-in");
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify({ steps, errors }));
