package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * values.yaml documents every key, and the chart README lists every value. A key is documented by
 * the comment right above it; "# -- text" marks a value (a leaf, or a map/list whose whole default
 * is the value, like resources), any other comment a section whose keys are documented one by one.
 */
class ValuesDocTest {
    private static final Pattern KEY = Pattern.compile("^(\\s*)([A-Za-z][\\w.\\-/]*):(.*)$");

    record Key(String path, boolean isValue, boolean documented, int line) {}

    static List<Key> keys() throws IOException {
        List<String> lines = Files.readAllLines(MsmChart.dir().resolve("values.yaml"));
        List<Key> out = new ArrayList<>();
        Deque<Object[]> stack = new ArrayDeque<>(); // {indent, key}
        Integer valueIndent = null; // inside a "# --" value: its keys are the value's content
        String lastComment = null;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            String t = l.strip();
            if (t.isEmpty()) {
                lastComment = null;
                continue;
            }
            if (t.startsWith("#")) {
                if (lastComment == null) {
                    lastComment = t; // the first line of the comment block says what kind it is
                }
                continue;
            }
            Matcher m = KEY.matcher(l);
            String comment = lastComment;
            lastComment = null;
            if (!m.matches()) {
                continue; // list items of a value
            }
            int indent = m.group(1).length();
            if (valueIndent != null && indent > valueIndent) {
                continue;
            }
            valueIndent = null;
            while (!stack.isEmpty() && (int) stack.peek()[0] >= indent) {
                stack.pop();
            }
            List<String> parts = new ArrayList<>();
            stack.descendingIterator().forEachRemaining(o -> parts.add((String) o[1]));
            parts.add(m.group(2));
            boolean isValue = comment != null && comment.startsWith("# --");
            out.add(new Key(String.join(".", parts), isValue, comment != null, i + 1));
            if (isValue) {
                valueIndent = indent;
            }
            stack.push(new Object[] {indent, m.group(2)});
        }
        return out;
    }

    @Test
    void everyKeyHasAComment() throws IOException {
        List<Key> keys = keys();
        assertTrue(keys.size() > 50, "parsed only " + keys.size() + " keys from values.yaml");
        List<String> bare =
                keys.stream()
                        .filter(k -> !k.documented())
                        .map(k -> k.line() + ": " + k.path())
                        .toList();
        assertEquals(List.of(), bare, "keys in values.yaml without a comment above them");
    }

    @Test
    void sectionsContainOnlyDocumentedValues() throws IOException {
        // a key that is neither a value nor a section with keys below it would be undocumented data
        List<Key> keys = keys();
        for (Key k : keys) {
            if (!k.isValue()) {
                boolean hasChildren =
                        keys.stream().anyMatch(c -> c.path().startsWith(k.path() + "."));
                assertTrue(
                        hasChildren,
                        "values.yaml line "
                                + k.line()
                                + ": "
                                + k.path()
                                + " is a value but its comment does not start with '# --'");
            }
        }
    }

    @Test
    void readmeListsEveryValue() throws IOException {
        String readme = Files.readString(MsmChart.dir().resolve("README.md"));
        List<String> missing =
                keys().stream()
                        .filter(Key::isValue)
                        .map(Key::path)
                        .filter(p -> !readme.contains("| `" + p + "` |"))
                        .toList();
        assertEquals(List.of(), missing, "values missing from the table in helm/msm/README.md");
    }
}
