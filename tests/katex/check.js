// Render math with KaTeX the way a Markdown viewer does, and report what fails.
// stdin:  a JSON list of {"tex": "...", "display": true|false}
// stdout: a JSON object {"errors": [{"index", "tex", "message"}], "warnings": [{"index", "code", "message"}],
//         "count": number of spans rendered, "katex": version}
// throwOnError is true, so a span KaTeX cannot parse is an error (a viewer would show it red or as source).
// strict is a function that records KaTeX's LaTeX-compatibility warnings and then ignores them, as most
// viewers do (their default is "warn", which only logs); the test reports them but does not fail on them.
"use strict";
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const spans = JSON.parse(input);
  const errors = [];
  const warnings = [];
  spans.forEach((span, index) => {
    const strict = (code, message) => { warnings.push({ index, code, message }); return "ignore"; };
    try {
      katex.renderToString(span.tex, { displayMode: Boolean(span.display), throwOnError: true, strict });
    } catch (e) {
      errors.push({ index, tex: span.tex, message: e instanceof katex.ParseError ? e.message : String(e) });
    }
  });
  process.stdout.write(JSON.stringify({ errors, warnings, count: spans.length, katex: katex.version }) + "\n");
});
