/*
 * compare-browser.js SVG BEFORE.folded AFTER.folded REPORT.json -
 * perfkit compare's differential flame graph in a real browser: headless
 * Chromium (/usr/bin/chromium) driven by playwright-core with real mouse
 * input.
 *
 * The truth for a call path comes from the two sessions' folded exports
 * (perfkit export --format folded): the samples of the stacks that start
 * with the path, in each session; the sampling rates from REPORT.json
 * (perfkit compare --format json).  For the widest frame below main:
 *   colour  red when the path takes more time than before, blue when less
 *   hover   the details line names the frame, its share of AFTER (as in
 *           every flame graph) and then both sessions' shares and the
 *           time change, the same text as the frame's data-n attribute
 *   click   zoom makes the frame full width, "Reset Zoom" undoes it: the
 *           regular flame graph's interactivity, unchanged
 * Exit 0 when all hold, 1 with the reasons otherwise.
 */
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run"];

const problems = [];
function check(ok, what) {
	if (!ok)
		problems.push(what);
	return ok;
}

function readFolded(file) {
	return fs.readFileSync(file, "utf8").split("\n").filter((l) => l).map((l) => {
		const k = l.lastIndexOf(" ");
		return [l.slice(0, k).split(";"), Number(l.slice(k + 1))];
	});
}

/* Samples of the stacks that start with path, and of all stacks. */
function pathWeight(folded, p) {
	let w = 0, all = 0;
	for (const [stack, n] of folded) {
		all += n;
		if (stack.length >= p.length && p.every((f, i) => stack[i] === f))
			w += n;
	}
	return [w, all];
}

function rgb(hex) {
	return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

async function main(argv) {
	const svgFile = path.resolve(argv[2]);
	const foldedBefore = readFolded(argv[3]), foldedAfter = readFolded(argv[4]);
	const report = JSON.parse(fs.readFileSync(argv[5], "utf8"));
	const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pk-chromium-"));
	const context = await chromium.launchPersistentContext(userDir, {
		executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
		viewport: { width: 1300, height: 900 }
	});
	try {
		const page = context.pages()[0] || await context.newPage();
		const errors = [];
		page.on("pageerror", (e) => errors.push(String(e)));
		await page.goto("file://" + svgFile);
		await page.waitForFunction(() => window.pkFlameGraph !== undefined, null, { timeout: 20000 });
		const data = await page.evaluate(() => window.pkData);
		const names = data.funcs.map((f) => f[0]);
		const plot = data.width - 2 * data.xpad;
		const frames = await page.$$eval("#frames > g", (gs) => gs.map((g) => ({
			f: g.getAttribute("data-f"), d: Number(g.getAttribute("data-d")),
			v: Number(g.getAttribute("data-v")), n: g.getAttribute("data-n"),
			fill: g.querySelector("rect").getAttribute("fill"),
			x: g.querySelector("rect").getAttribute("x"),
			w: g.querySelector("rect").getAttribute("width")
		})));

		/* Frames drawn on their own all carry both values. */
		const plain = frames.filter((fr) => fr.f !== null);
		check(plain.length > 10, "too few frames: " + plain.length);
		check(plain.every((fr) => fr.n && fr.n.startsWith("before ") && fr.n.includes(", after ")),
			"a frame without both values");

		/* The widest frame under main, and its path. */
		let target = -1;
		frames.forEach((fr, i) => {
			if (fr.d === 2 && fr.f !== null && (target < 0 || fr.v > frames[target].v))
				target = i;
		});
		const t = frames[target], tname = names[Number(t.f)];
		const parent = frames.find((fr) => fr.d === 1 && fr.f !== null);
		const tpath = [names[Number(parent.f)], tname];
		const [wb, nb] = pathWeight(foldedBefore, tpath), [wa, na] = pathWeight(foldedAfter, tpath);
		check(wa === t.v, `frame weight ${t.v}, AFTER's folded stacks say ${wa}`);
		const tb = wb / report.before.sample_rate_hz, ta = wa / report.after.sample_rate_hz;
		const [r, g, b] = rgb(t.fill);
		if (ta > tb)
			check(r > b, `${tname} takes more time but is not red: ${t.fill}`);
		else if (ta < tb)
			check(b > r, `${tname} takes less time but is not blue: ${t.fill}`);
		check(g <= Math.max(r, b), `${tname} colour ${t.fill} is neither red nor blue`);
		/* "before 1.15s (5.73%), after 1.46s (12.11%), +26.9% (...)": shares
		 * and change within rounding of the printed digits. */
		const m = /^before [^ ]+ \(([0-9.]+)%\), after [^ ]+ \(([0-9.]+)%\), ([+-][0-9.]+)%/.exec(t.n || "");
		const want = [100 * wb / nb, 100 * wa / na, 100 * (ta - tb) / tb];
		check(m !== null && Math.abs(Number(m[1]) - want[0]) < 0.0051 &&
			Math.abs(Number(m[2]) - want[1]) < 0.0051 && Math.abs(Number(m[3]) - want[2]) < 0.051,
			`note "${t.n}": expected shares ${want[0].toFixed(3)}% and ${want[1].toFixed(3)}%, ` +
			`change ${want[2].toFixed(2)}%`);

		/* Hover: the regular description, then both sessions' values. */
		const sel = `#frames > g:nth-child(${target + 1}) rect`;
		await page.hover(sel);
		const details = await page.textContent("#details");
		check(details.startsWith(tname + " ("), "hover does not name the frame: " + details);
		check(details.includes(" of all, "), "hover lacks the share of AFTER: " + details);
		check(details.endsWith("; " + t.n), `hover lacks both values: "${details}" vs "${t.n}"`);

		/* Click to zoom and reset, as in every flame graph. */
		await page.click(sel);
		const zoomed = await page.$eval(sel, (e) => [e.getAttribute("x"), e.getAttribute("width")]);
		check(zoomed[0] === data.xpad.toFixed(2) && zoomed[1] === plot.toFixed(2),
			`zoomed frame at ${zoomed[0]}, width ${zoomed[1]}: not full width`);
		await page.click("#reset");
		const back = await page.$eval(sel, (e) => [e.getAttribute("x"), e.getAttribute("width")]);
		check(back[0] === t.x && back[1] === t.w, "reset did not restore the frame");
		check(errors.length === 0, "page errors: " + errors.join("; "));
		console.log(`${plain.length} frames; ${tname}: ${t.fill}, "${t.n}"`);
	} finally {
		await context.close();
		fs.rmSync(userDir, { recursive: true, force: true });
	}
	if (problems.length) {
		console.error(problems.join("\n"));
		return 1;
	}
	return 0;
}

main(process.argv).then((rc) => process.exit(rc), (e) => {
	console.error(String(e && e.stack || e));
	process.exit(1);
});
