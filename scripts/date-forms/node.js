// The JavaScript rows of fixtures/dates/runtimes.json: what Node writes for each instant of
// instants.txt, one JSON object a line on stdout, in the zone of $TZ (generate.sh runs it once in
// UTC and once in each of Europe/Berlin, America/New_York and Asia/Kolkata).
//
// - Date.prototype.toString(): `Mon Dec 07 2026 01:31:23 GMT+0000 (Coordinated Universal Time)`,
//   the day padded, the zone's name in parentheses (SPEC §10).
// - The Node SDK's payload date, dayjs's format('ddd MMM D YYYY HH:mm:ss [GMT]ZZ'): the day NOT
//   padded (`Mon Dec 7 2026 …`). Written with dayjs when `require('dayjs')` loads (generate.sh puts
//   it on NODE_PATH); else with Node's own Date getters, the row's writer says which. When dayjs
//   loads, the getters' text is checked against it, and the script fails if they ever differ.
// - In UTC only (the zone changes nothing in them): toUTCString() (IMF-fixdate) and toISOString()
//   (RFC 3339 with milliseconds).
//
// Deterministic for a given Node version and its time zone data; no network.
'use strict';
const fs = require('fs');
const path = require('path');

const tz = process.env.TZ;
if (!tz) {
    console.error('node.js: set TZ (UTC, Europe/Berlin, …)');
    process.exit(2);
}
let dayjs = null;
let dayjsVersion = null;
try {
    dayjs = require('dayjs');
    dayjsVersion = require('dayjs/package.json').version;
} catch (_) {
    // Not installed: the getters below write the same text.
}

const instants = fs
    .readFileSync(path.join(__dirname, 'instants.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n) => String(n).padStart(2, '0');

// dayjs's 'ddd MMM D YYYY HH:mm:ss [GMT]ZZ' from the Date's local getters.
function dayjsForm(date) {
    const offset = -date.getTimezoneOffset(); // minutes east of UTC
    const sign = offset < 0 ? '-' : '+';
    const zz = sign + two(Math.floor(Math.abs(offset) / 60)) + two(Math.abs(offset) % 60);
    return (
        `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${date.getDate()} ${date.getFullYear()} ` +
        `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} GMT${zz}`
    );
}

const node = `node ${process.version}`;
const rows = [];
for (const instant of instants) {
    const date = new Date(instant);
    const unix = date.getTime() / 1000;
    const row = (form, writer, text, zone) => rows.push({ text, unix, instant, form, writer, tz: zone });
    row('javascript', `${node}: Date.prototype.toString()`, date.toString(), tz);
    const byGetters = dayjsForm(date);
    if (dayjs) {
        const text = dayjs(date).format('ddd MMM D YYYY HH:mm:ss [GMT]ZZ');
        if (text !== byGetters) {
            console.error(`node.js: dayjs wrote ${JSON.stringify(text)}, the getters ${JSON.stringify(byGetters)}`);
            process.exit(1);
        }
        row('dayjs', `dayjs ${dayjsVersion} on ${node}: format('ddd MMM D YYYY HH:mm:ss [GMT]ZZ')`, text, tz);
    } else {
        row('dayjs', `${node}: Date getters writing dayjs's 'ddd MMM D YYYY HH:mm:ss [GMT]ZZ' (dayjs not installed)`, byGetters, tz);
    }
    if (tz === 'UTC') {
        row('imf-fixdate', `${node}: Date.prototype.toUTCString()`, date.toUTCString(), null);
        row('rfc3339', `${node}: Date.prototype.toISOString()`, date.toISOString(), null);
    }
}
process.stdout.write(rows.map((r) => JSON.stringify(r) + '\n').join(''));
