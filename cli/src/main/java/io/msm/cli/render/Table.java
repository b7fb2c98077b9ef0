package io.msm.cli.render;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table: a header row, columns padded to their widest cell, numbers right-aligned, two
 * spaces between columns, no trailing blanks.
 */
public final class Table {
    public enum Align {
        LEFT,
        RIGHT
    }

    private final List<String> headers = new ArrayList<>();
    private final List<Align> aligns = new ArrayList<>();
    private final List<String[]> rows = new ArrayList<>();
    private String indent = "";

    public Table column(String header, Align align) {
        headers.add(header);
        aligns.add(align);
        return this;
    }

    public Table left(String header) {
        return column(header, Align.LEFT);
    }

    public Table right(String header) {
        return column(header, Align.RIGHT);
    }

    /** Prefix for every line (for tables nested under a heading). */
    public Table indent(String prefix) {
        indent = prefix;
        return this;
    }

    public Table row(String... cells) {
        if (cells.length != headers.size()) {
            throw new IllegalArgumentException(
                    "row has "
                            + cells.length
                            + " cells, table has "
                            + headers.size()
                            + " columns "
                            + headers);
        }
        rows.add(cells.clone());
        return this;
    }

    public int rowCount() {
        return rows.size();
    }

    public void print(PrintWriter out) {
        int[] width = new int[headers.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = headers.get(c).length();
            for (String[] r : rows) {
                width[c] = Math.max(width[c], r[c].length());
            }
        }
        line(out, headers.toArray(new String[0]), width);
        for (String[] r : rows) {
            line(out, r, width);
        }
    }

    private void line(PrintWriter out, String[] cells, int[] width) {
        StringBuilder sb = new StringBuilder(indent);
        for (int c = 0; c < cells.length; c++) {
            boolean last = c == cells.length - 1;
            String cell = cells[c];
            int pad = width[c] - cell.length();
            if (aligns.get(c) == Align.RIGHT) {
                sb.append(" ".repeat(pad)).append(cell);
            } else {
                sb.append(cell);
                if (!last) {
                    sb.append(" ".repeat(pad));
                }
            }
            if (!last) {
                sb.append("  ");
            }
        }
        int end = sb.length();
        while (end > 0 && sb.charAt(end - 1) == ' ') {
            end--;
        }
        sb.setLength(end);
        out.println(sb);
    }
}
