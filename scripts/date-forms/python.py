"""The Python rows of fixtures/dates/runtimes.json: what Python's standard library writes for each
instant of instants.txt, one JSON object a line on stdout.

- email.utils.formatdate(t, usegmt=True) and format_datetime(utc, usegmt=True): IMF-fixdate.
- email.utils.formatdate(t) (the default): RFC 2822 with `-0000` for the zone ("UTC, the local
  zone unknown"); format_datetime(dt) of an aware datetime: RFC 2822 with its numeric offset
  (`+0000`, and in Europe/Berlin, America/New_York and Asia/Kolkata through zoneinfo).
- time.asctime(time.gmtime(t)): the asctime form, the day padded with a space (SPEC §2).
- datetime.isoformat() of an aware datetime: RFC 3339 (`+00:00`, `+05:30`).

Deterministic for a given Python version and the machine's zone data (zoneinfo reads
/usr/share/zoneinfo, or the tzdata package); no network.
"""

import datetime
import email.utils
import json
import pathlib
import sys
import time
import zoneinfo

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata"]
PYTHON = "python " + sys.version.split()[0]


def instants():
    text = (pathlib.Path(__file__).parent / "instants.txt").read_text()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def main():
    out = []
    for instant in instants():
        utc = datetime.datetime.fromisoformat(instant.replace("Z", "+00:00"))
        unix = int(utc.timestamp())

        def row(form, writer, text, tz=None):
            out.append(
                {"text": text, "unix": unix, "instant": instant, "form": form, "writer": f"{PYTHON}: {writer}", "tz": tz}
            )

        row("imf-fixdate", "email.utils.formatdate(t, usegmt=True)", email.utils.formatdate(unix, usegmt=True))
        row(
            "imf-fixdate",
            "email.utils.format_datetime(dt, usegmt=True)",
            email.utils.format_datetime(utc, usegmt=True),
        )
        row("rfc2822", "email.utils.formatdate(t)", email.utils.formatdate(unix))
        row("rfc2822", "email.utils.format_datetime(dt)", email.utils.format_datetime(utc), "UTC")
        row("asctime", "time.asctime(time.gmtime(t))", time.asctime(time.gmtime(unix)))
        row("rfc3339", "datetime.isoformat()", utc.isoformat(), "UTC")
        for zone in ZONES:
            local = utc.astimezone(zoneinfo.ZoneInfo(zone))
            row("rfc2822", "email.utils.format_datetime(dt)", email.utils.format_datetime(local), zone)
            row("rfc3339", "datetime.isoformat()", local.isoformat(), zone)
    sys.stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out))


if __name__ == "__main__":
    main()
