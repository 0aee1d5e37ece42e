/*
 * flamegraph-bench.js SVG - how interactive a large flame graph stays in
 * headless Chromium: time to load, and click-to-redraw time of a zoom, a
 * reset and a search, measured inside the page from the input event's
 * timestamp to the second animation frame after it (the browser has run
 * the handlers, laid out and painted the result).
 * Prints one line per measurement (median of 5); exits 0.
 */
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run"];

function median(v) {
	const s = v.slice().sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)];
}

async function main(argv) {
	const svg = path.resolve(argv[2]);
	const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pk-chromium-"));
	const context = await chromium.launchPersistentContext(userDir, {
		executablePath: "/usr/bin/chromium", headless: true, args: FLAGS,
		viewport: { width: 1300, height: 1000 }
	});
	const settle = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
	try {
		const page = context.pages()[0] || await context.newPage();
		let t = Date.now();
		await page.goto("file://" + svg);
		await page.waitForFunction(() => window.pkFlameGraph !== undefined, null, { timeout: 60000 });
		await page.evaluate(settle);
		const loadMs = Date.now() - t;
		const n = await page.$$eval("#frames > g", (gs) => gs.length);
		/* The widest frame at depth 2: a zoom that redraws much. */
		const target = await page.$$eval("#frames > g", (gs) => {
			let best = -1, bv = -1;
			gs.forEach((g, i) => {
				const v = Number(g.getAttribute("data-v"));
				if (g.getAttribute("data-d") === "2" && v > bv) {
					bv = v;
					best = i;
				}
			});
			return best;
		});
		/* In-page timing: from the input event's timestamp to the second
		 * animation frame after the handlers ran (layout and paint done).
		 * Raw mouse and keyboard input, without the driver's own checks. */
		await page.evaluate(() => {
			window.pkBench = [];
			const note = (e) => {
				const t0 = e.timeStamp;
				requestAnimationFrame(() => requestAnimationFrame(() =>
					window.pkBench.push(performance.now() - t0)));
			};
			document.addEventListener("click", note, true);
			document.getElementById("search").addEventListener("input", note, true);
		});
		const box = async (selector) => {
			const b = await page.locator(selector).boundingBox();
			return [b.x + b.width / 2, b.y + b.height / 2];
		};
		const last = async () => {
			await page.waitForFunction((k) => window.pkBench.length >= k, ++count);
			return page.evaluate(() => window.pkBench[window.pkBench.length - 1]);
		};
		let count = 0;
		const zoom = [], reset = [], search = [], clear = [];
		const [zx, zy] = await box(`#frames > g:nth-child(${target + 1}) rect`);
		const [rx, ry] = await box("#reset");
		for (let i = 0; i < 5; i++) {
			await page.mouse.click(zx, zy);
			zoom.push(Math.round(await last()));
			await page.mouse.click(rx, ry);
			reset.push(Math.round(await last()));
			await page.focus("#search");
			await page.keyboard.type("compute_00[0-4]" + i);
			count += ("compute_00[0-4]" + i).length - 1;
			search.push(Math.round(await last()));
			await page.fill("#search", "");
			clear.push(Math.round(await last()));
		}
		console.log(`frames drawn: ${n}`);
		console.log(`load: ${loadMs} ms`);
		console.log(`zoom click-to-redraw: ${median(zoom)} ms (median of 5; ${zoom.join(" ")})`);
		console.log(`reset click-to-redraw: ${median(reset)} ms (${reset.join(" ")})`);
		console.log(`search keystroke-to-redraw: ${median(search)} ms (last key; ${search.join(" ")})`);
		console.log(`clear search: ${median(clear)} ms (${clear.join(" ")})`);
	} finally {
		await context.close();
		fs.rmSync(userDir, { recursive: true, force: true });
	}
	return 0;
}

main(process.argv).then((rc) => process.exit(rc), (e) => {
	console.error(String(e && e.stack || e));
	process.exit(1);
});
