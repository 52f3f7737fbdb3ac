// Drives the fhirclient example (fhirclient/launch.html) through a SMART
// standalone launch as a person would: opens the launch page, signs in as
// USER, picks PATIENT and allows access on the sandbox's pages, waits for
// the example to show the patient, saves a screenshot of each page and
// prints {"name": …, "details": …} on stdout.
//
// usage: node fhirclient.mjs LAUNCH_URL USER PATIENT SCREENSHOT_DIR
// playwright-core is imported from $PLAYWRIGHT_CORE (a path to its
// index.mjs), Chromium from $CHROMIUM (default /usr/bin/chromium).
const { chromium } = await import(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [launchURL, user, patient, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  await page.goto(launchURL);
  const steps = [
    ["fhirclient-login", `button[name=user][value="${user}"]`],
    ["fhirclient-patient-picker", `button[name=patient][value="${patient}"]`],
    ["fhirclient-consent", `button[name=decision][value=allow]`],
  ];
  // fhirclient navigates by script, so a query can meet a page that is
  // going away: poll, bounded, and retry.
  let done = false;
  for (let tries = 0; tries < 300 && !done; tries++) {
    try {
      if ((await page.title()) === "done") {
        done = true;
        break;
      }
      for (const [name, selector] of steps) {
        const button = await page.$(selector);
        if (button) {
          await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
          await Promise.all([page.waitForNavigation(), button.click()]);
          break;
        }
      }
    } catch (e) {
      if (!/context was destroyed|navigat/i.test(String(e))) throw e;
    }
    await page.waitForTimeout(100);
  }
  if (!done) throw new Error(`the example never showed a patient; last page ${page.url()}`);
  await page.screenshot({ path: `${shots}/fhirclient-app.png`, fullPage: true });
  console.log(JSON.stringify({
    name: await page.textContent("#name"),
    details: await page.textContent("#details"),
  }));
} finally {
  await browser.close();
}
