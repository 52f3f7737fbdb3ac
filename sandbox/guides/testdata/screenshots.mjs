// Takes screenshots of the served guides in headless Chromium: the index,
// one guide scrolled to a section, a search and the API reference. Prints
// {"titles": [...]} on stdout.
//
// usage: node screenshots.mjs SERVER_URL SCREENSHOT_DIR
// playwright-core is imported from $PLAYWRIGHT_CORE (a path to its
// index.mjs), Chromium from $CHROMIUM (default /usr/bin/chromium).
const { chromium } = await import(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [server, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const titles = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("console", m => { if (m.type() === "error") errors.push(m.text()); });
  page.on("requestfailed", r => errors.push("failed: " + r.url()));
  const visit = async (path, name, fullPage) => {
    const resp = await page.goto(server + path);
    if (!resp || resp.status() !== 200) throw new Error(`${path}: ${resp && resp.status()}`);
    titles.push(await page.title());
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage });
  };
  await visit("/guides", "guides-index", false);
  await visit("/guides/searching", "guides-searching", false);
  // Same page, scrolled to a section: no new response.
  await page.goto(server + "/guides/searching#including-what-the-results-point-to");
  titles.push(await page.title());
  await page.screenshot({ path: `${shots}/guides-searching-section.png` });
  await page.goto(server + "/guides");
  await page.fill("input[name=q]", "national identity number");
  await Promise.all([page.waitForNavigation(), page.click("form.search button")]);
  titles.push(await page.title());
  await page.screenshot({ path: `${shots}/guides-search.png`, fullPage: false });
  await visit("/guides/api", "guides-api", false);
  if (errors.length) throw new Error(errors.join("; "));
  console.log(JSON.stringify({ titles }));
} finally {
  await browser.close();
}
