/*
 * html-report.js HTML SCREENSHOT TOP_FUNCTION [--compare] [--allocs SITE] - a "perfkit
 * html" report in a real browser: headless Chromium (/usr/bin/chromium)
 * driven by playwright-core with real mouse and keyboard input.
 *
 *   load      no page errors, no console errors, no request leaves the
 *             file (no network: everything is inside it)
 *   sections  summary, analysis, functions, hot lines, flame graph,
 *             allocations (and with --compare the comparison and its
 *             differential flame graph, whose frames are drawn in its own
 *             document; with --allocs the memory chart and SITE as the
 *             first call site)
 *   table     (not with --allocs: its session's CPU profile is a few
 *             milliseconds) TOP_FUNCTION is the first row; a click on "Function" sorts
 *             by name (again: reversed), a click on "Total" sorts by total
 *             descending; typing in the filter box leaves exactly the rows
 *             whose name contains the text
 *   zoom      (not with --allocs) a click on a flame graph frame makes it full width, Reset
 *             Zoom restores every frame
 *   print     with print media the navigation and the filter are hidden
 *             and every row is shown; a PDF is written beside the
 *             screenshot
 * A full-page screenshot is saved to SCREENSHOT.  Exit 0 when all hold,
 * 1 with the reasons otherwise.
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

async function column(page, table, col) {
	return page.$$eval(`#${table} tbody tr`, (rows, c) => rows.filter((r) => !r.hidden).map((r) => {
		const td = r.cells[c];
		const v = td.getAttribute("data-v");
		return v === null ? td.textContent : v;
	}), col);
}

function sortedBy(values, cmp) {
	for (let i = 1; i < values.length; i++)
		if (cmp(values[i - 1], values[i]) > 0)
			return false;
	return true;
}

async function frames(target) {
	return target.$$eval("#frames > g", (gs) => gs.map((g) => ({
		d: Number(g.getAttribute("data-d")), v: Number(g.getAttribute("data-v")),
		x: g.querySelector("rect").getAttribute("x"), w: g.querySelector("rect").getAttribute("width"),
		cls: g.getAttribute("class") || ""
	})));
}

async function main(argv) {
	const htmlFile = path.resolve(argv[2]);
	const shot = path.resolve(argv[3]);
	const topFunction = argv[4];
	const withCompare = argv.includes("--compare");
	const allocSite = argv.includes("--allocs") ? argv[argv.indexOf("--allocs") + 1] : null;
	const url = "file://" + htmlFile;
	const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pk-chromium-"));
	const context = await chromium.launchPersistentContext(userDir, {
		executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
		viewport: { width: 1300, height: 900 }
	});
	try {
		const page = context.pages()[0] || await context.newPage();
		const errors = [];
		page.on("pageerror", (e) => errors.push("page error: " + String(e)));
		page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
		page.on("request", (r) => {
			const u = r.url();
			if (u !== url && !u.startsWith("data:") && !u.startsWith("about:"))
				errors.push("request outside the file: " + u);
		});
		await page.goto(url);
		await page.waitForFunction(() => document.documentElement.getAttribute("data-pk-ready") === "1" &&
			window.pkFlameGraph !== undefined, null, { timeout: 20000 });

		/* Sections. */
		for (const id of ["pk-summary", "pk-analysis", "pk-functions", "pk-lines", "pk-flamegraph", "pk-allocs"].concat(
			withCompare ? ["pk-compare"] : []))
			check(await page.$(`section#${id} h2`) !== null, `section ${id} is missing`);
		const summary = await page.textContent("#pk-summary");
		check(/Samples/.test(summary) && /Sampling rate/.test(summary), "summary lacks samples/rate: " + summary.slice(0, 200));
		check(await page.$$eval("#pk-lines table.lines tr.hot", (r) => r.length) > 0, "no hot line marked");

		if (allocSite) {
			check(await page.$("#pk-allocs .chart svg polyline, #pk-allocs .chart svg path") !== null,
				"no memory timeline chart");
			const first = await page.$eval("#pk-atable tbody tr td", (td) => td.textContent).catch(() => null);
			check(first === allocSite, `first call site is ${first}, expected ${allocSite}`);
		}

		/* The table and the flame graph need a CPU profile of some
		 * breadth: the main report's.  An --allocs session is a run of
		 * a few milliseconds whose few samples may all fall in two
		 * functions; its page shares the table's and the flame
		 * graph's code. */
		if (!allocSite) {
			/* Function table: order, sort by click, filter. */
			const heads = await page.$$eval("#pk-ftable thead th", (ths) => ths.map((t) => t.textContent));
			const col = (name) => heads.indexOf(name);
			check(col("Function") >= 0 && col("Total") >= 0 && col("Self") >= 0, "table headers: " + heads);
			let names = await column(page, "pk-ftable", col("Function"));
			check(names.length >= 3, "too few functions in the table: " + names.length);
			check(names[0] === topFunction, `first row is ${names[0]}, expected ${topFunction}`);
			check(sortedBy((await column(page, "pk-ftable", col("Self"))).map(Number), (a, b) => b - a),
				"table not sorted by self at first");

			await page.click(`#pk-ftable thead th:nth-child(${col("Function") + 1})`);
			names = await column(page, "pk-ftable", col("Function"));
			const lower = (s) => s.toLowerCase();
			check(sortedBy(names.map(lower), (a, b) => (a < b ? -1 : a > b ? 1 : 0)), "click on Function: not sorted by name: " + names.slice(0, 6));
			await page.click(`#pk-ftable thead th:nth-child(${col("Function") + 1})`);
			names = await column(page, "pk-ftable", col("Function"));
			check(sortedBy(names.map(lower), (a, b) => (a > b ? -1 : a < b ? 1 : 0)), "second click on Function: not reversed: " + names.slice(0, 6));
			await page.click(`#pk-ftable thead th:nth-child(${col("Total") + 1})`);
			const totals = (await column(page, "pk-ftable", col("Total"))).map(Number);
			check(sortedBy(totals, (a, b) => b - a), "click on Total: not sorted descending: " + totals.slice(0, 6));
			check(await page.getAttribute(`#pk-ftable thead th:nth-child(${col("Total") + 1})`, "aria-sort") === "descending",
				"the Total header does not show its sort order");

			const all = await column(page, "pk-ftable", col("Function"));
			const needle = topFunction.slice(1, 5);
			await page.click("#pk-filter");
			await page.keyboard.type(needle);
			const shown = await column(page, "pk-ftable", col("Function"));
			const expect = all.filter((n) => n.toLowerCase().includes(needle.toLowerCase()));
			check(shown.length === expect.length && shown.every((n) => n.toLowerCase().includes(needle.toLowerCase())),
				`filter '${needle}': ${shown.length} rows shown, expected ${expect.length}`);
			check((await page.textContent("#pk-fcount")).startsWith(`${expect.length} of ${all.length}`), "filter count text");
			await page.fill("#pk-filter", "");
			await page.dispatchEvent("#pk-filter", "input");

			/* Flame graph: click to zoom, reset. */
			const svgWidth = await page.evaluate(() => window.pkData.width - 2 * window.pkData.xpad);
			const before = await frames(page);
			check(before.length > 3, "too few flame graph frames: " + before.length);
			let target = -1;
			before.forEach((fr, i) => {
				if (fr.d === 2 && !/\bhide\b/.test(fr.cls) && (target < 0 || fr.v > before[target].v))
					target = i;
			});
			if (check(target >= 0, "no frame at depth 2")) {
				await page.click(`#frames > g:nth-child(${target + 1}) rect`);
				await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
				const zoomed = await frames(page);
				check(zoomed[target].w === svgWidth.toFixed(2), `zoomed frame is ${zoomed[target].w} wide, expected ${svgWidth}`);
				check(before[target].v === before[0].v || zoomed.some((f) => /\bhide\b/.test(f.cls)), "zoom hid nothing");
				await page.click("#reset");
				await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
				const reset = await frames(page);
				check(reset.every((f, i) => f.w === before[i].w && f.x === before[i].x), "Reset Zoom did not restore the frames");
			}
		}

		/* The differential flame graph, in its own document. */
		if (withCompare) {
			const handle = await page.$("iframe#pk-diff");
			const frame = handle && await handle.contentFrame();
			if (check(frame !== null, "no differential flame graph")) {
				await frame.waitForFunction(() => window.pkFlameGraph !== undefined, null, { timeout: 20000 });
				check((await frames(frame)).length > 3, "differential flame graph has too few frames");
				const h = await handle.boundingBox();
				check(h && h.height > 100, "differential flame graph iframe is too small: " + JSON.stringify(h));
			}
			check(await page.$$eval("#pk-ctable tbody tr", (r) => r.length) > 0, "comparison table is empty");
		}

		/* The screenshot shows the report as it opens. */
		await page.reload();
		await page.waitForFunction(() => document.documentElement.getAttribute("data-pk-ready") === "1" &&
			window.pkFlameGraph !== undefined, null, { timeout: 20000 });
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.screenshot({ path: shot, fullPage: true });

		/* Print. */
		await page.emulateMedia({ media: "print" });
		check(await page.$eval("nav", (n) => getComputedStyle(n).display) === "none", "navigation printed");
		check(await page.$eval(".controls", (n) => getComputedStyle(n).display) === "none", "filter box printed");
		const pdf = shot.replace(/\.png$/, "") + ".pdf";
		await page.pdf({ path: pdf, format: "A4", printBackground: true });
		check(fs.statSync(pdf).size > 10000, "the printed PDF is nearly empty");

		errors.forEach((e) => problems.push(e));
	} finally {
		await context.close();
		fs.rmSync(userDir, { recursive: true, force: true });
	}
	if (problems.length) {
		problems.forEach((p) => console.error("FAIL: " + p));
		return 1;
	}
	return 0;
}

main(process.argv).then((rc) => process.exit(rc), (e) => {
	console.error("FAIL: " + (e && e.stack || e));
	process.exit(1);
});
