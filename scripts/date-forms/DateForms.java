// The Java rows of fixtures/dates/runtimes.json: what java.time writes for each instant of
// instants.txt, one JSON object a line on stdout. Run as a single source file, no build:
//
//   java scripts/date-forms/DateForms.java
//
// - DateTimeFormatter.RFC_1123_DATE_TIME in UTC: `Mon, 7 Dec 2026 01:31:23 GMT`, the day NOT
//   padded (its pattern is `d`, one or two digits), so IMF-fixdate only on days 10 to 31 (the row's
//   form says which); in another zone, RFC 1123 with the numeric
//   offset: `Mon, 7 Dec 2026 02:31:23 +0100`.
// - Instant.toString() and DateTimeFormatter.ISO_OFFSET_DATE_TIME: RFC 3339.
//
// Deterministic for a given JDK (its own zone data, tzdb.dat); no network.

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

public class DateForms {
    static final String[] ZONES = {"Europe/Berlin", "America/New_York", "Asia/Kolkata"};
    static final String JAVA = "java " + System.getProperty("java.version");

    static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\');
            }
            if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static void row(StringBuilder out, String text, long unix, String instant, String form, String writer, String tz) {
        out.append("{\"text\": ").append(json(text))
            .append(", \"unix\": ").append(unix)
            .append(", \"instant\": ").append(json(instant))
            .append(", \"form\": ").append(json(form))
            .append(", \"writer\": ").append(json(JAVA + ": " + writer))
            .append(", \"tz\": ").append(json(tz))
            .append("}\n");
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(System.getProperty("instants", "scripts/date-forms/instants.txt"));
        List<String> instants = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            line = line.strip();
            if (!line.isEmpty() && !line.startsWith("#")) {
                instants.add(line);
            }
        }
        StringBuilder out = new StringBuilder();
        DateTimeFormatter rfc1123 = DateTimeFormatter.RFC_1123_DATE_TIME;
        for (String s : instants) {
            Instant instant = Instant.parse(s);
            long unix = instant.getEpochSecond();
            var utc = instant.atZone(ZoneOffset.UTC);
            // Days 10 to 31 have two digits: then the text is exactly IMF-fixdate.
            String form = utc.getDayOfMonth() < 10 ? "rfc1123-unpadded-day" : "imf-fixdate";
            row(out, rfc1123.format(utc), unix, s, form, "DateTimeFormatter.RFC_1123_DATE_TIME", "UTC");
            row(out, instant.toString(), unix, s, "rfc3339", "Instant.toString()", null);
            for (String zone : ZONES) {
                var local = instant.atZone(ZoneId.of(zone));
                row(out, rfc1123.format(local), unix, s, "rfc2822", "DateTimeFormatter.RFC_1123_DATE_TIME", zone);
                row(out, DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(local), unix, s, "rfc3339",
                    "DateTimeFormatter.ISO_OFFSET_DATE_TIME", zone);
            }
        }
        System.out.print(out);
    }
}
