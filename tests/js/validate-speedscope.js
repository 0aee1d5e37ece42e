/*
 * validate-speedscope.js FILE [EXPECT.json] - check a speedscope export.
 *
 * Validates FILE against the file-format JSON schema that the speedscope
 * npm package publishes (dist/release/file-format-schema.json) with ajv,
 * then checks what the schema cannot: frame indexes in range, one weight
 * per sample, endValue = sum of weights.  With EXPECT (a JSON object
 * {"profiles": {"thread 1001": total, ...}}), each thread's total weight
 * must match.  Exit 0 when valid, 1 with the reasons otherwise.
 */
"use strict";

const fs = require("fs");
const path = require("path");
const Ajv = require("ajv");

const schemaPath = path.join(path.dirname(require.resolve("speedscope/package.json")),
	"dist", "release", "file-format-schema.json");

function main(argv) {
	const file = JSON.parse(fs.readFileSync(argv[2], "utf8"));
	const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
	const ajv = new Ajv({ allErrors: true, strict: false });
	const validate = ajv.compile(schema);
	const problems = [];

	if (!validate(file))
		for (const e of validate.errors)
			problems.push("schema: " + e.instancePath + " " + e.message);
	const nFrames = file.shared && Array.isArray(file.shared.frames) ? file.shared.frames.length : 0;
	for (const p of file.profiles || []) {
		let sum = 0;
		if (p.type !== "sampled") {
			problems.push(p.name + ": not a sampled profile");
			continue;
		}
		if (p.samples.length !== p.weights.length)
			problems.push(p.name + ": " + p.samples.length + " samples but " +
				p.weights.length + " weights");
		for (const s of p.samples)
			for (const f of s)
				if (!Number.isInteger(f) || f < 0 || f >= nFrames)
					problems.push(p.name + ": frame index " + f + " out of range");
		for (const w of p.weights)
			sum += w;
		if (sum !== p.endValue - p.startValue)
			problems.push(p.name + ": weights add to " + sum + ", endValue says " + p.endValue);
	}
	if (argv[3]) {
		const expect = JSON.parse(fs.readFileSync(argv[3], "utf8"));
		const got = {};
		for (const p of file.profiles || [])
			got[p.name] = p.weights.reduce((a, b) => a + b, 0);
		const a = JSON.stringify(got, Object.keys(got).sort());
		const b = JSON.stringify(expect.profiles, Object.keys(expect.profiles).sort());
		if (a !== b)
			problems.push("per-thread totals " + a + ", expected " + b);
	}
	if (problems.length) {
		console.error(problems.slice(0, 20).join("\n"));
		return 1;
	}
	console.log("valid: " + (file.profiles || []).length + " profiles, " + nFrames + " frames");
	return 0;
}

process.exit(main(process.argv));
