/*
 * speedscope-open.js FILE NAME PROFILES - open a speedscope export in
 * speedscope itself: the app shipped in the speedscope npm package
 * (dist/release/index.html), in headless Chromium (/usr/bin/chromium),
 * loaded the way speedscope's own command-line tool does it (a script
 * calling speedscope.loadFileFromBase64, named in #localProfilePath).
 * Passes when speedscope imports it as a speedscope file, titles the page
 * "NAME - speedscope", shows the first of PROFILES profiles ("(1/N)"), and
 * reports no error.  Exit 0 or 1 with the reasons.
 */
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run"];

async function main(argv) {
	const file = path.resolve(argv[2]), name = argv[3], profiles = Number(argv[4]);
	const app = path.join(path.dirname(require.resolve("speedscope/package.json")),
		"dist", "release", "index.html");
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pk-speedscope-"));
	const loader = path.join(dir, "load.js");
	fs.writeFileSync(loader, "speedscope.loadFileFromBase64(" + JSON.stringify(path.basename(file)) +
		", " + JSON.stringify(fs.readFileSync(file).toString("base64")) + ")");
	const context = await chromium.launchPersistentContext(path.join(dir, "profile"), {
		executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
		viewport: { width: 1200, height: 700 }
	});
	const problems = [], log = [];
	try {
		const page = context.pages()[0] || await context.newPage();
		page.on("pageerror", (e) => problems.push("page error: " + e));
		page.on("dialog", (d) => { problems.push("dialog: " + d.message()); d.dismiss(); });
		page.on("console", (m) => log.push(m.text()));
		await page.goto("file://" + app + "#localProfilePath=" + loader);
		const want = name + " - speedscope";
		try {
			await page.waitForFunction((t) => document.title === t, want, { timeout: 30000 });
		} catch (e) {
			problems.push(`title is "${await page.title()}", expected "${want}"`);
		}
		if (!log.some((l) => l.includes("Importing as speedscope json file")))
			problems.push("speedscope did not import it as its own format: " + log.join(" | "));
		if (profiles > 0) {
			const text = await page.evaluate(() => document.body.innerText);
			if (!text.includes(`(1/${profiles})`) && profiles > 1)
				problems.push(`no "(1/${profiles})" profile selector in: ${text.slice(0, 200)}`);
		}
	} finally {
		await context.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
	if (problems.length) {
		console.error(problems.join("\n"));
		return 1;
	}
	console.log("speedscope opened " + path.basename(file));
	return 0;
}

main(process.argv).then((rc) => process.exit(rc), (e) => {
	console.error(String(e && e.stack || e));
	process.exit(1);
});
