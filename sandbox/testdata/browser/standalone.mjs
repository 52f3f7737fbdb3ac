// Drives a SMART standalone launch through the sandbox's pages as a person
// would: it opens the app's launch page, signs in as the given user, picks
// the given patient and allows access, saving a screenshot of each page,
// then waits until the app reports (its page title becomes "done").
//
// usage: node standalone.mjs LAUNCH_URL USER PATIENT SCREENSHOT_DIR [PREFIX [ID,…]]
// The screenshots are named PREFIX (default none) and the page: login,
// patient-picker, consent, app. Given element ids, it prints the app
// page's text of each as a JSON object by id on stdout.
// Chromium comes from $CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";

const [launchURL, user, patient, shots, prefix = "", ids = ""] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(launchURL);
  const pages = [
    ["login", `button[name=user][value="${user}"]`],
    ["patient-picker", `button[name=patient][value="${patient}"]`],
    ["consent", `button[name=decision][value=allow]`],
  ];
  // The pages navigate by themselves (fhirclient redirects by script), so
  // a query can meet a page that is going away: poll, bounded, and retry.
  let done = false;
  for (let tries = 0; tries < 300 && !done; tries++) {
    try {
      if ((await page.title()) === "done") {
        done = true;
        break;
      }
      for (const [name, selector] of pages) {
        const button = await page.$(selector);
        if (button) {
          await page.screenshot({ path: `${shots}/${prefix}${name}.png`, fullPage: true });
          await Promise.all([page.waitForNavigation(), button.click()]);
          break;
        }
      }
    } catch (e) {
      if (!/context was destroyed|navigat/i.test(String(e))) throw e;
    }
    await page.waitForTimeout(100);
  }
  if (!done) throw new Error(`the app never reported; last page ${page.url()}`);
  await page.screenshot({ path: `${shots}/${prefix}app.png`, fullPage: true });
  if (ids) {
    const shown = {};
    for (const id of ids.split(",")) shown[id] = await page.textContent(`#${id}`);
    console.log(JSON.stringify(shown));
  }
} finally {
  await browser.close();
}
