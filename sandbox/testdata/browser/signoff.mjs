// Drives the portal's sign-off of a test request: a reviewer signs in,
// opens the request from the queue, reads the run's report and approves
// it; the supplier that filed it sees the decision; another supplier signs
// in and finds neither the request nor its report. A screenshot of every
// page is saved. Prints what the other supplier saw as JSON on stdout.
//
// usage: node signoff.mjs SERVER_URL REQUEST_ID RUN_ID SCREENSHOT_DIR
//          REVIEWER:PASSWORD SUPPLIER:PASSWORD OTHER_SUPPLIER:PASSWORD
// Chromium comes from $CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";

const [server, requestId, runId, shots, reviewer, supplier, other] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);
// signIn opens a fresh browser context (its own cookies) signed in as who.
const signIn = async (who) => {
  const [username, password] = who.split(":");
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${server}/portal/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await submit(page, "button.primary");
  return page;
};
const requestPath = `/portal/test-requests/${requestId}`;
const runPath = `${requestPath}/runs/${runId}`;
try {
  // The reviewer works the queue: request, report, approval.
  const rev = await signIn(reviewer);
  await submit(rev, "header nav a:has-text('Test requests')");
  await shot(rev, "signoff-review-queue");
  await submit(rev, `a[href='${requestPath}']`);
  await shot(rev, "signoff-request");
  await submit(rev, `a[href='${runPath}']`);
  await shot(rev, "signoff-report");
  await rev.fill("textarea[name=comment]", "Meets the patient-facing app profile.");
  await submit(rev, "button[name=verdict][value=approved]");
  await shot(rev, "signoff-approved-request");
  await rev.goto(`${server}${runPath}`);
  await shot(rev, "signoff-approved-report");

  // The supplier that filed it sees the decision.
  const own = await signIn(supplier);
  await own.goto(`${server}${requestPath}`);
  await shot(own, "signoff-supplier-request");

  // Another supplier sees neither the request nor its report.
  const stranger = await signIn(other);
  await stranger.goto(`${server}/portal/test-requests`);
  await shot(stranger, "signoff-other-supplier-list");
  const list = await stranger.textContent("main");
  const reqResp = await stranger.goto(`${server}${requestPath}`);
  await shot(stranger, "signoff-other-supplier-request");
  const runResp = await stranger.goto(`${server}${runPath}`);
  await shot(stranger, "signoff-other-supplier-report");
  const diffResp = await stranger.goto(`${server}${requestPath}/diff?from=${runId}&to=${runId}`);
  console.log(JSON.stringify({ list, request: reqResp.status(), run: runResp.status(), diff: diffResp.status(),
    runBody: await stranger.textContent("main") }));
} finally {
  await browser.close();
}
