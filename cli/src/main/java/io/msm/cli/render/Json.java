package io.msm.cli.render;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;

/**
 * JSON output, written as it is produced (a JsonGenerator, never a tree in memory), so 100,000
 * flows cost no more memory than one.
 */
public final class Json {
    private static final JsonFactory FACTORY = JsonFactory.builder().build();

    private Json() {}

    /** Indented output, for small documents (status, fan-out). */
    public static JsonGenerator pretty(Writer out) {
        return create(out).setPrettyPrinter(new DefaultPrettyPrinter());
    }

    /**
     * A top-level array with one compact element per line: greppable, and still a single JSON
     * document.
     */
    public static JsonGenerator linePerElement(Writer out) {
        return create(out).setPrettyPrinter(new LinePerElement());
    }

    private static JsonGenerator create(Writer out) {
        try {
            return FACTORY.createGenerator(out).disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Compact, except that elements of the outermost array each start a line. */
    static final class LinePerElement extends MinimalPrettyPrinter {
        private static final long serialVersionUID = 1L;

        private static boolean outermost(JsonGenerator g) {
            return g.getOutputContext().inArray() && g.getOutputContext().getParent().inRoot();
        }

        @Override
        public void beforeArrayValues(JsonGenerator g) throws IOException {
            if (outermost(g)) {
                g.writeRaw('\n');
            }
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(outermost(g) ? ",\n" : ",");
        }

        @Override
        public void writeEndArray(JsonGenerator g, int nrOfValues) throws IOException {
            if (outermost(g) && nrOfValues > 0) {
                g.writeRaw('\n');
            }
            g.writeRaw(']');
        }
    }
}
