/*
 * flamegraph-browser.js SVG FOLDED - perfkit's flame graph in a real
 * browser: headless Chromium (/usr/bin/chromium, Debian's) driven by
 * playwright-core with real mouse and keyboard input.
 *
 * The truth comes from FOLDED, the same session exported as folded stacks
 * (perfkit export --format folded), never from the SVG itself; the SVG
 * must be drawn with --minwidth 0 so every call path is a frame.
 *   hover   the details line names the frame and its share of all samples
 *   click   the frame becomes full width, its ancestors stay (dimmed), the
 *           rest of the graph is hidden, its children are scaled to it
 *   reset   every frame is back where it was
 *   search  Ctrl-F focuses the box; a regular expression highlights
 *           exactly the frames whose name matches, and the matched share
 *           equals the share of stacks that contain a match (nested
 *           matches counted once); when zoomed, also the share of the
 *           zoomed frame's stacks
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

function fmtPct(part, whole) {
	return whole > 0 ? (100 * part / whole).toFixed(2) + "%" : "0.00%";
}

function fmtCount(n) {
	return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/* Folded lines as [frames[], count]; names as the SVG's table has them
 * (';' inside a name was turned into ':' by both). */
function readFolded(file) {
	return fs.readFileSync(file, "utf8").split("\n").filter((l) => l).map((l) => {
		const k = l.lastIndexOf(" ");
		return [l.slice(0, k).split(";"), Number(l.slice(k + 1))];
	});
}

function startsWith(stack, prefix) {
	if (stack.length < prefix.length)
		return false;
	for (let i = 0; i < prefix.length; i++)
		if (stack[i] !== prefix[i])
			return false;
	return true;
}

async function frameState(page) {
	return page.$$eval("#frames > g", (gs) => gs.map((g) => ({
		f: g.getAttribute("data-f"), d: Number(g.getAttribute("data-d")),
		s: Number(g.getAttribute("data-s")), v: Number(g.getAttribute("data-v")),
		x: g.querySelector("rect").getAttribute("x"),
		w: g.querySelector("rect").getAttribute("width"),
		cls: g.getAttribute("class") || ""
	})));
}

async function main(argv) {
	const svgFile = path.resolve(argv[2]);
	const folded = readFolded(argv[3]);
	const total = folded.reduce((a, l) => a + l[1], 0);
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
		const before = await frameState(page);
		check(before.length > 10, "too few frames: " + before.length);

		/* The widest frame two levels up, and its path of names. */
		let target = -1;
		before.forEach((fr, i) => {
			if (fr.d === 2 && fr.f !== null && (target < 0 || fr.v > before[target].v))
				target = i;
		});
		const tname = names[Number(before[target].f)];
		const parent = before.findIndex((fr) => fr.d === 1 && fr.s <= before[target].s &&
			fr.s + fr.v >= before[target].s + before[target].v);
		const tpath = [names[Number(before[parent].f)], tname];
		const sel = `#frames > g:nth-child(${target + 1}) rect`;

		/* Hover. */
		await page.hover(sel);
		const details = await page.textContent("#details");
		check(details.startsWith(tname + " ("), "hover details do not name the frame: " + details);
		check(details.includes(fmtCount(before[target].v) + " " + data.unit + ", " +
			fmtPct(before[target].v, total) + " of all"), "hover shares wrong: " + details);

		/* Click to zoom. */
		const t0 = Date.now();
		await page.click(sel);
		await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
		const clickMs = Date.now() - t0;
		let after = await frameState(page);
		const z = after[target];
		check(z.w === plot.toFixed(2) && z.x === data.xpad.toFixed(2),
			`zoomed frame is ${z.w} px at x ${z.x}, expected full width ${plot}`);
		let bad = 0, hidden = 0, dimmed = 0;
		after.forEach((fr) => {
			const inside = fr.s >= z.s && fr.s + fr.v <= z.s + z.v && fr.d >= z.d;
			const above = fr.d < z.d && fr.s <= z.s && fr.s + fr.v >= z.s + z.v;
			if (above) {
				dimmed++;
				if (!/\bdim\b/.test(fr.cls) || fr.w !== plot.toFixed(2))
					bad++;
			} else if (inside) {
				const w = (fr.v / z.v * plot).toFixed(2);
				const x = (data.xpad + (fr.s - z.s) / z.v * plot).toFixed(2);
				if (/\bhide\b/.test(fr.cls) || fr.w !== w || fr.x !== x)
					bad++;
			} else {
				hidden++;
				if (!/\bhide\b/.test(fr.cls))
					bad++;
			}
		});
		check(bad === 0, bad + " frames misplaced after the zoom");
		check(dimmed === 2 && hidden > 0, `zoom: ${dimmed} dimmed ancestors (want 2), ${hidden} hidden`);
		check(await page.getAttribute("#reset", "class") === "button", "reset is not active when zoomed");

		/* Search while zoomed: share of all and of the zoomed frame. */
		const reNested = "compute_000[0-9]";
		await page.keyboard.press("Control+F");
		check(await page.evaluate(() => document.activeElement && document.activeElement.id) === "search",
			"Ctrl-F does not focus the search box");
		await page.keyboard.type(reNested);
		const re = new RegExp(reNested);
		let m = 0, mz = 0, zw = 0;
		for (const [stack, n] of folded) {
			const hit = stack.some((f) => re.test(f));
			if (hit)
				m += n;
			if (startsWith(stack, tpath)) {
				zw += n;
				if (hit)
					mz += n;
			}
		}
		check(zw === z.v, `zoomed frame weight ${z.v}, folded says ${zw}`);
		let text = await page.textContent("#matched");
		let want = `Matched: ${fmtPct(m, total)} (${fmtCount(m)} ${data.unit}), ${fmtPct(mz, zw)} of zoomed frame`;
		check(text === want, `zoomed search shows "${text}", expected "${want}"`);

		/* Reset restores every frame. */
		await page.click("#reset");
		after = await frameState(page);
		const moved = after.filter((fr, i) => fr.x !== before[i].x || fr.w !== before[i].w ||
			/\b(dim|hide)\b/.test(fr.cls)).length;
		check(moved === 0, moved + " frames not restored by reset");
		check(await page.getAttribute("#reset", "class") === "button off", "reset still active");

		/* The same nested search, unzoomed: matched frames and share. */
		text = await page.textContent("#matched");
		want = `Matched: ${fmtPct(m, total)} (${fmtCount(m)} ${data.unit})`;
		check(text === want, `search shows "${text}", expected "${want}"`);
		const marked = after.filter((fr) => /\bmatch\b/.test(fr.cls)).length;
		const should = after.filter((fr) => fr.f !== null && fr.d > 0 && re.test(names[Number(fr.f)])).length;
		check(marked === should && should > 0, `${marked} frames highlighted, ${should} match`);
		/* It nests: the plain sum of matched frames is larger. */
		const plainSum = after.filter((fr) => /\bmatch\b/.test(fr.cls)).reduce((a, fr) => a + fr.v, 0);
		check(plainSum > m, "the test regex does not exercise nested matches");

		/* An exact name; then Escape clears. */
		await page.fill("#search", "^" + tname.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$");
		const m1 = folded.filter(([s]) => s.includes(tname)).reduce((a, l) => a + l[1], 0);
		text = await page.textContent("#matched");
		want = `Matched: ${fmtPct(m1, total)} (${fmtCount(m1)} ${data.unit})`;
		check(text === want, `exact search shows "${text}", expected "${want}"`);
		await page.focus("#search");
		await page.keyboard.press("Escape");
		check((await frameState(page)).every((fr) => !/\bmatch\b/.test(fr.cls)), "Escape left highlights");
		check(errors.length === 0, "page errors: " + errors.join("; "));
		console.log(`${before.length} frames; zoomed into ${tpath.join(";")}; ` +
			`click-to-redraw ${clickMs} ms; nested share ${fmtPct(m, total)}`);
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

/*
 * flamegraph-browser.js --names SVG REPORT.json - hostile function names
 * in the browser: the page loads without script errors, the names the
 * script shows are exactly the report's (markup, quotes, ';' and invalid
 * UTF-8 included: the latter as U+FFFD in both), hovering shows a name as
 * text, never as markup, and a search for a name with '&', '<' and '>' in
 * it highlights exactly the frames of that name.
 */
async function names(argv) {
	const svgFile = path.resolve(argv[3]);
	const report = JSON.parse(fs.readFileSync(argv[4], "utf8"));
	const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pk-chromium-"));
	const context = await chromium.launchPersistentContext(userDir, {
		executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
		viewport: { width: 1300, height: 900 }
	});
	try {
		const page = context.pages()[0] || await context.newPage();
		const errors = [];
		page.on("pageerror", (e) => errors.push(String(e)));
		page.on("dialog", (d) => { errors.push("dialog: " + d.message()); d.dismiss(); });
		await page.goto("file://" + svgFile);
		await page.waitForFunction(() => window.pkFlameGraph !== undefined, null, { timeout: 20000 });
		const data = await page.evaluate(() => window.pkData);
		const shown = new Set(data.funcs.map((f) => f[0]));
		const want = new Set(report.functions.map((f) => f.function));
		want.add("all");
		if (report.no_stack_weight)
			want.add("[no stack]");
		const extra = [...shown].filter((n) => !want.has(n));
		check(extra.length === 0, "names not in the report: " + JSON.stringify(extra.slice(0, 5)));
		/* Hover a frame whose name has markup in it. */
		const k = await page.$$eval("#frames > g", (gs, funcs) => gs.findIndex((g) =>
			g.hasAttribute("data-f") && /[<&;"]/.test(funcs[Number(g.getAttribute("data-f"))][0])),
			data.funcs);
		check(k >= 0, "no frame with a hostile name drawn");
		if (k >= 0) {
			const fi = await page.getAttribute(`#frames > g:nth-child(${k + 1})`, "data-f");
			const name = data.funcs[Number(fi)][0];
			await page.hover(`#frames > g:nth-child(${k + 1}) rect`);
			const details = await page.textContent("#details");
			check(details.startsWith(name + " ("), `hover shows "${details}" for ${JSON.stringify(name)}`);
			check(await page.$$eval("#details *", (e) => e.length) === 0, "hover text became markup");
		}
		/* A literal search for a name with '&', '<' or '>' in it. */
		const target = data.funcs.map((f) => f[0]).find((n) => /[&<>]/.test(n));
		check(target !== undefined, "no name with & < > in the graph");
		if (target !== undefined) {
			await page.fill("#search", "^" + target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$");
			const res = await page.$$eval("#frames > g", (gs, [funcs, t]) => {
				let marked = 0, named = 0;
				for (const g of gs) {
					const isT = g.hasAttribute("data-f") && funcs[Number(g.getAttribute("data-f"))][0] === t;
					named += isT;
					marked += g.classList.contains("match");
				}
				return [marked, named];
			}, [data.funcs, target]);
			check(res[0] === res[1] && res[1] > 0, `search for ${JSON.stringify(target)}: ` +
				`${res[0]} highlighted, ${res[1]} frames of that name`);
		}
		check(errors.length === 0, "page errors: " + errors.join("; "));
		console.log(`${shown.size} names as in the report; hostile hover and search ok`);
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

(process.argv[2] === "--names" ? names(process.argv) : main(process.argv)).then((rc) => process.exit(rc), (e) => {
	console.error(String(e && e.stack || e));
	process.exit(1);
});
