/*
 * flamegraph.js - the interactive part of perfkit's flame graph SVG.
 *
 * Written for perfkit; compiled into the perfkit binary (the build turns
 * this file into a C string) and embedded in every SVG, which therefore
 * works offline and alone.  It reads the frames from the document itself:
 * each <g> under #frames carries data-s (left edge), data-v (width) and
 * data-d (depth) in weight units, and data-f (index into pkData.funcs) or
 * data-m (number of narrow frames merged into it).  The frames come in
 * depth-first order, i.e. sorted by left edge and then depth, which the
 * search relies on to count nested matches once.
 *
 *   hover      name, module, weight, % of all and % of the zoomed frame
 *   click      zoom: the frame becomes full width, its ancestors stay
 *              (dimmed), everything else is hidden; "Reset Zoom" undoes it
 *   search     a regular expression in the box (Ctrl-F focuses it):
 *              matching frames are highlighted and the matched share is
 *              shown, nested matches counted once
 */
(function () {
	"use strict";

	var D = window.pkData;
	var SVGNS = "http://www.w3.org/2000/svg";
	var plotWidth = D.width - 2 * D.xpad;
	var frames = [];
	var zoomed = 0;
	var searchRe = null;
	var details, matched, resetButton, searchBox;

	function fmtPct(part, whole) {
		return whole > 0 ? (100 * part / whole).toFixed(2) + "%" : "0.00%";
	}

	function fmtCount(n) {
		return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
	}

	/* The label that fits in w px: the name, a prefix and "..", or "". */
	function labelFor(name, w) {
		var fit = Math.floor((w - 6) / D.charWidth);
		var chars = Array.from(name);
		if (fit < 3)
			return "";
		if (chars.length <= fit)
			return name;
		return chars.slice(0, fit - 2).join("") + "..";
	}

	function setLabel(f, w) {
		var text = f.name === null ? "" : labelFor(f.name, w);
		if (!f.text) {
			if (text === "")
				return;
			f.text = document.createElementNS(SVGNS, "text");
			f.text.setAttribute("y", String(f.y + D.frameHeight - 4));
			f.g.appendChild(f.text);
		}
		if (f.label !== text) {
			f.text.textContent = text;
			f.label = text;
		}
	}

	/* Put frame f at x, w px.  At the top level (zoomed === 0) the
	 * numbers written by perfkit are restored as they were. */
	function place(f, x, w) {
		var xs = zoomed === 0 ? f.x0 : x.toFixed(2), ws = zoomed === 0 ? f.w0 : w.toFixed(2);
		if (f.xs !== xs || f.ws !== ws) {
			f.rect.setAttribute("x", xs);
			f.rect.setAttribute("width", ws);
			f.xs = xs;
			f.ws = ws;
			setLabel(f, w);
			if (f.text)
				f.text.setAttribute("x", (Number(xs) + 3).toFixed(2));
		}
	}

	function setState(f, dim, hide) {
		if (f.dim !== dim) {
			f.g.classList.toggle("dim", dim);
			f.dim = dim;
		}
		if (f.hide !== hide) {
			f.g.classList.toggle("hide", hide);
			f.hide = hide;
		}
	}

	/* Zoom into frame i (0 = everything). */
	function zoom(i) {
		var z = frames[i], zs = z.s, ze = z.s + z.v, k, f;
		zoomed = i;
		for (k = 0; k < frames.length; k++) {
			f = frames[k];
			if (f.d < z.d) {
				if (f.s <= zs && f.s + f.v >= ze) {
					setState(f, true, false);
					place(f, D.xpad, plotWidth);
				} else {
					setState(f, false, true);
				}
			} else if (f.s >= zs && f.s + f.v <= ze) {
				setState(f, false, false);
				place(f, D.xpad + (f.s - zs) / z.v * plotWidth, f.v / z.v * plotWidth);
			} else {
				setState(f, false, true);
			}
		}
		resetButton.setAttribute("class", i === 0 ? "button off" : "button");
		showMatched();
	}

	function describe(f) {
		var z = frames[zoomed], what = f.name;
		if (f.module)
			what += " (" + f.module + ")";
		return what + ": " + fmtCount(f.v) + " " + D.unit + ", " + fmtPct(f.v, D.total) +
			" of all, " + fmtPct(Math.min(f.v, z.v), z.v) + " of zoomed frame" +
			(f.note ? "; " + f.note : "");
	}

	/* Mark matching frames; show their share, nested matches counted once. */
	function search(text) {
		var k, f, hit, end = -1, sum = 0;
		searchRe = null;
		if (text !== "") {
			try {
				searchRe = new RegExp(text);
			} catch (e) {
				searchRe = null;
				for (k = 0; k < frames.length; k++) {
					frames[k].g.classList.remove("match");
					frames[k].match = false;
				}
				matched.textContent = "invalid regular expression";
				return;
			}
		}
		for (k = 0; k < frames.length; k++) {
			f = frames[k];
			hit = searchRe !== null && f.name !== null && k > 0 && searchRe.test(f.name);
			if (f.match !== hit) {
				f.g.classList.toggle("match", hit);
				f.match = hit;
			}
			if (hit && f.s >= end) {
				sum += f.v;
				end = f.s + f.v;
			}
		}
		showMatched();
	}

	/* The matched text: share of all and, when zoomed, of the zoomed frame. */
	function showMatched() {
		var k, f, end = -1, sum = 0, inZoom = 0, z = frames[zoomed], lo, hi, text;
		if (searchRe === null) {
			matched.textContent = " ";
			return;
		}
		for (k = 0; k < frames.length; k++) {
			f = frames[k];
			if (!f.match || f.s < end)
				continue;
			sum += f.v;
			end = f.s + f.v;
			lo = Math.max(f.s, z.s);
			hi = Math.min(f.s + f.v, z.s + z.v);
			if (hi > lo)
				inZoom += hi - lo;
		}
		text = "Matched: " + fmtPct(sum, D.total) + " (" + fmtCount(sum) + " " + D.unit + ")";
		if (zoomed !== 0)
			text += ", " + fmtPct(inZoom, z.v) + " of zoomed frame";
		matched.textContent = text;
	}

	function frameOf(target) {
		var g = target && target.closest ? target.closest("#frames > g") : null;
		return g ? frames[g.pkIndex] : null;
	}

	function init() {
		var gs = document.getElementById("frames").children, k, g, f, rect, fi;
		details = document.getElementById("details");
		matched = document.getElementById("matched");
		resetButton = document.getElementById("reset");
		searchBox = document.getElementById("search");
		for (k = 0; k < gs.length; k++) {
			g = gs[k];
			rect = g.querySelector("rect");
			fi = g.hasAttribute("data-f") ? Number(g.getAttribute("data-f")) : -1;
			f = {
				g: g, rect: rect, text: g.querySelector("text"),
				s: Number(g.getAttribute("data-s")), v: Number(g.getAttribute("data-v")),
				d: Number(g.getAttribute("data-d")),
				x0: rect.getAttribute("x"), w0: rect.getAttribute("width"),
				xs: rect.getAttribute("x"), ws: rect.getAttribute("width"),
				y: Number(rect.getAttribute("y")),
				name: fi >= 0 ? D.funcs[fi][0] : null,
				module: fi >= 0 ? D.funcs[fi][1] : "",
				note: g.getAttribute("data-n") || "",
				label: null, dim: false, hide: false, match: false
			};
			if (fi < 0)
				f.merged = Number(g.getAttribute("data-m"));
			if (f.text)
				f.label = f.text.textContent;
			g.pkIndex = k;
			frames.push(f);
		}
		if (frames.length === 0)
			return;
		var box = document.getElementById("frames");
		box.addEventListener("mouseover", function (e) {
			var fr = frameOf(e.target);
			if (!fr)
				return;
			details.textContent = fr.name === null ?
				fr.merged + " frames narrower than --minwidth, merged: " +
					fmtCount(fr.v) + " " + D.unit + ", " + fmtPct(fr.v, D.total) + " of all" :
				describe(fr);
		});
		box.addEventListener("mouseout", function () {
			details.textContent = " ";
		});
		box.addEventListener("click", function (e) {
			var fr = frameOf(e.target);
			if (fr && fr.name !== null)
				zoom(fr.g.pkIndex);
		});
		resetButton.addEventListener("click", function () {
			zoom(0);
		});
		searchBox.addEventListener("input", function () {
			search(searchBox.value);
		});
		searchBox.addEventListener("keydown", function (e) {
			if (e.key === "Escape") {
				searchBox.value = "";
				search("");
			}
		});
		window.addEventListener("keydown", function (e) {
			if ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) {
				e.preventDefault();
				searchBox.focus();
				searchBox.select();
			}
		});
		/* For scripted checks and benchmarks: the same entry points a
		 * user reaches with the mouse and the keyboard. */
		window.pkFlameGraph = {
			zoom: zoom, search: search, frames: frames,
			zoomed: function () { return zoomed; }
		};
	}

	if (document.readyState === "loading")
		window.addEventListener("DOMContentLoaded", init);
	else
		window.addEventListener("load", init);
}());
