// Drives the developer portal as a supplier's developer would: sign in,
// create a sandbox, register an app, launch it from a patient's chart into
// a small SMART app (which completes the flow through the sandbox's login
// and consent pages), then open the sandbox's request log. A screenshot of
// every page is saved. Prints {"clientId": …, "requestLog": …} on stdout.
//
// usage: node portal.mjs SERVER_URL USERNAME PASSWORD APP_URL SCREENSHOT_DIR
// Chromium comes from $CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";

const [server, username, password, app, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);
try {
  const page = await browser.newPage();
  await page.goto(`${server}/portal/login`);
  await shot(page, "portal-login");
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await submit(page, "button.primary");
  await shot(page, "portal-dashboard");

  await page.fill("input[name=name]", "Pulse development");
  await page.fill("input[name=id]", "pulse-dev");
  await page.fill("input[name=seed_patients]", "2");
  await submit(page, "form[action='/portal/sandboxes'] button.primary");
  await shot(page, "portal-sandbox");

  await page.goto(`${server}/portal/sandboxes/pulse-dev/apps/new`);
  await page.fill("input[name=name]", "Pulse monitor");
  await page.check("input[name=type][value=public]");
  await page.fill("textarea[name=redirect_uris]", `${app}/callback`);
  await page.fill("input[name=launch_url]", `${app}/launch.html`);
  await page.fill("textarea[name=scopes]", "launch openid fhirUser patient/*.rs");
  await shot(page, "portal-register-app");
  await submit(page, "button.primary");
  await shot(page, "portal-app-registered");
  const clientId = (await page.textContent("dd code.copy")).trim();
  // The app learns its client id the way a developer would configure it.
  await fetch(`${app}/config`, { method: "POST", body: clientId });

  await submit(page, "a.button:has-text('Go to the app')");
  await shot(page, "portal-app");
  await submit(page, "a.button:has-text('Launch app')");
  await shot(page, "portal-launch-patients");
  await submit(page, "a.button:has-text('Choose')");
  await shot(page, "portal-launch-context");
  await page.click("form[action$='/launch/start'] button.primary");

  // From here the app and the sandbox's pages navigate by themselves (by
  // script), so a query can meet a page that is going away: poll, bounded.
  const pages = [["smart-login", "button[name=user]"], ["smart-consent", "button[name=decision][value=allow]"]];
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
          await shot(page, name);
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
  await shot(page, "app-launched");

  // The app's calls reach the log off the request path: look until they show.
  let requestLog = "";
  for (let tries = 0; tries < 50; tries++) {
    await page.goto(`${server}/portal/sandboxes/pulse-dev/requests`);
    requestLog = await page.textContent("main");
    if (requestLog.includes("/Observation")) break;
    await page.waitForTimeout(200);
  }
  await shot(page, "portal-request-log");
  process.stdout.write(JSON.stringify({ clientId, requestLog }));
} finally {
  await browser.close();
}
