package io.msm.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** RFC 4180 CSV: a header row, then one row per record; fields quoted when they need it. */
public final class Csv {
    private Csv() {}

    public static String field(String s) {
        if (s == null) {
            return "";
        }
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return '"' + s.replace("\"", "\"\"") + '"';
        }
        return s;
    }

    public static String render(List<String> header, List<List<String>> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.join(",", header.stream().map(Csv::field).toList())).append('\n');
        for (List<String> r : rows) {
            if (r.size() != header.size()) {
                throw new IllegalArgumentException(
                        "row has " + r.size() + " fields, header " + header.size() + ": " + r);
            }
            b.append(String.join(",", r.stream().map(Csv::field).toList())).append('\n');
        }
        return b.toString();
    }

    public static void write(Path file, List<String> header, List<List<String>> rows)
            throws IOException {
        Files.writeString(file, render(header, rows));
    }
}
