// Lays GitHub's webhook example payloads out as files for the tests and
// benchmarks. @octokit/webhooks-examples ships them in one index.json, a
// list of events each with its example payloads; example N of event E is
// written to OUT/E/N.json as JSON.stringify(payload, null, 2) and a newline,
// the form of the payload files in the octokit/webhooks repository, so the
// tests read the bytes a webhook delivery carries, written by a JSON
// implementation other than the one under test.
// Usage: node scripts/webhook-examples.js INDEX.json OUT  (scripts/testdata.sh)
'use strict';
const fs = require('fs');
const path = require('path');

const [index, out] = process.argv.slice(2);
if (!index || !out) {
  console.error('usage: node scripts/webhook-examples.js INDEX.json OUT');
  process.exit(2);
}
const events = JSON.parse(fs.readFileSync(index, 'utf8'));
if (!Array.isArray(events)) {
  console.error(`webhook-examples: ${index} is not a list of events`);
  process.exit(1);
}
for (const event of events) {
  const dir = path.join(out, event.name);
  fs.mkdirSync(dir, { recursive: true });
  event.examples.forEach((payload, n) => {
    fs.writeFileSync(path.join(dir, `${n}.json`), JSON.stringify(payload, null, 2) + '\n');
  });
}
