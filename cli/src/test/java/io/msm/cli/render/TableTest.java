package io.msm.cli.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class TableTest {
    private static String print(Table t) {
        StringWriter sw = new StringWriter();
        PrintWriter pw = new PrintWriter(sw);
        t.print(pw);
        pw.flush();
        return sw.toString().replace(System.lineSeparator(), "\n");
    }

    @Test
    void padsColumnsToTheWidestCellAndRightAlignsNumbers() {
        Table t = new Table().left("NAME").right("COUNT").left("NOTE");
        t.row("a", "1", "x");
        t.row("longer", "12345", "");
        assertEquals(
                """
                NAME    COUNT  NOTE
                a           1  x
                longer  12345
                """,
                print(t));
    }

    @Test
    void indentsNestedTables() {
        Table t = new Table().indent("  ").left("K").right("V");
        t.row("x", "10");
        assertEquals("  K   V\n  x  10\n", print(t));
    }

    @Test
    void aRowOfTheWrongWidthIsABug() {
        Table t = new Table().left("A").left("B");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> t.row("only one"));
        assertEquals("row has 1 cells, table has 2 columns [A, B]", e.getMessage());
    }
}
