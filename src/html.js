/*
 * html.js - the behaviour of "perfkit html" reports: tables sort when a
 * header is clicked (or Enter on a focused header), and a filter box
 * shows only the rows whose name contains its text.  Plain DOM, no
 * libraries: the report must open offline.  Numeric cells sort by their
 * data-v attribute, other cells by their text.
 */
(function () {
	"use strict";

	function cellKey(row, col, numeric) {
		var td = row.cells[col], v;

		if (!td)
			return numeric ? -Infinity : "";
		v = td.getAttribute("data-v");
		if (v === null)
			v = td.textContent;
		if (numeric) {
			v = parseFloat(v);
			return isNaN(v) ? -Infinity : v;
		}
		return v.toLowerCase();
	}

	function sortTable(table, col) {
		var th = table.tHead.rows[0].cells[col];
		var numeric = th.classList.contains("num");
		var now = th.getAttribute("aria-sort");
		var dir = now ? (now === "descending" ? "ascending" : "descending")
			: (numeric ? "descending" : "ascending");
		var sign = dir === "ascending" ? 1 : -1;
		var body = table.tBodies[0];
		var rows = Array.prototype.slice.call(body.rows);
		var i, cells = table.tHead.rows[0].cells;

		rows.forEach(function (r, k) { r._pkIndex = k; });
		rows.sort(function (a, b) {
			var x = cellKey(a, col, numeric), y = cellKey(b, col, numeric);
			if (x < y) return -sign;
			if (x > y) return sign;
			return a._pkIndex - b._pkIndex;
		});
		rows.forEach(function (r) { body.appendChild(r); });
		for (i = 0; i < cells.length; i++)
			cells[i].removeAttribute("aria-sort");
		th.setAttribute("aria-sort", dir);
	}

	function setupSortable(table) {
		var cells = table.tHead.rows[0].cells, i;

		for (i = 0; i < cells.length; i++) {
			(function (col) {
				var th = cells[col];
				th.tabIndex = 0;
				th.title = "sort by " + th.textContent;
				th.addEventListener("click", function () { sortTable(table, col); });
				th.addEventListener("keydown", function (e) {
					if (e.key === "Enter" || e.key === " ") {
						e.preventDefault();
						sortTable(table, col);
					}
				});
			})(i);
		}
	}

	function setupFilter(input) {
		var table = document.getElementById(input.getAttribute("data-filter"));
		var count = document.getElementById(input.getAttribute("data-count"));

		function apply() {
			var text = input.value.toLowerCase(), shown = 0;
			var rows = table.tBodies[0].rows, i, name;

			for (i = 0; i < rows.length; i++) {
				name = (rows[i].getAttribute("data-name") || rows[i].textContent).toLowerCase();
				rows[i].hidden = text !== "" && name.indexOf(text) < 0;
				if (!rows[i].hidden)
					shown++;
			}
			if (count)
				count.textContent = shown + " of " + rows.length + " functions";
		}
		input.addEventListener("input", apply);
		/* Keys typed here are the filter's, not the flame graph's. */
		input.addEventListener("keydown", function (e) { e.stopPropagation(); });
		apply();
	}

	function init() {
		Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), setupSortable);
		Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), setupFilter);
		document.documentElement.setAttribute("data-pk-ready", "1");
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", init);
	else
		init();
})();
