package io.msm.helm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.DryRun;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The chart under test, driven through real Helm (helm-java runs Helm's own Go code): render it to
 * manifests and lint it, with the chart's default values or with more values on top.
 */
final class MsmChart {
    static final String RELEASE = "msm";
    static final String NAMESPACE = "msm-system";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private MsmChart() {}

    /** helm/msm of this checkout (surefire passes it; the fallback is for IDE runs). */
    static Path dir() {
        Path p =
                Path.of(System.getProperty("msm.chart", "../helm/msm"))
                        .toAbsolutePath()
                        .normalize();
        if (!Files.isRegularFile(p.resolve("Chart.yaml"))) {
            throw new IllegalStateException(
                    "no chart at " + p + ": run the tests from helm-tests/ or set -Dmsm.chart");
        }
        return p;
    }

    /** Rendered with the chart's default values. */
    static Manifests render() {
        return render("");
    }

    /** Rendered with valuesYaml (a values file's text) on top of the defaults. */
    static Manifests render(String valuesYaml) {
        return Manifests.parse(template(valuesYaml));
    }

    /** Rendered with a values file on top of the defaults. */
    static Manifests render(Path valuesFile) {
        return Manifests.parse(
                new Helm(dir())
                        .template()
                        .withName(RELEASE)
                        .withNamespace(NAMESPACE)
                        .withValuesFile(valuesFile)
                        .call());
    }

    /**
     * helm template's output. Helm's failures (schema violations, fail in a template) come out as
     * IllegalStateException with Helm's message.
     */
    static String template(String valuesYaml) {
        Path values = writeTemp(valuesYaml);
        try {
            return new Helm(dir())
                    .template()
                    .withName(RELEASE)
                    .withNamespace(NAMESPACE)
                    .withValuesFile(values)
                    .call();
        } finally {
            deleteQuietly(values);
        }
    }

    /**
     * NOTES.txt as `helm install --dry-run=client` prints it (helm template does not render notes).
     * Client-only: no cluster is contacted.
     */
    static String notes(Path valuesFile) {
        var install =
                new Helm(dir())
                        .install()
                        .withName(RELEASE)
                        .withNamespace(NAMESPACE)
                        .clientOnly()
                        .withDryRunOption(DryRun.CLIENT);
        if (valuesFile != null) {
            install = install.withValuesFile(valuesFile);
        }
        String out = install.call().getOutput();
        int at = out.indexOf("NOTES:");
        if (at < 0) {
            throw new AssertionError("helm install --dry-run printed no NOTES:\n" + out);
        }
        return out.substring(at);
    }

    /**
     * helm lint --strict. helm-java's lint takes no values files, so for other values the chart is
     * copied and its values.yaml replaced by the defaults merged with the given file, which is what
     * Helm itself would compute.
     */
    static LintResult lint(Path valuesFile) {
        if (valuesFile == null) {
            return new Helm(dir()).lint().strict().call();
        }
        Path copy = copyChart();
        try {
            Map<String, Object> merged =
                    merge(readYaml(dir().resolve("values.yaml")), readYaml(valuesFile));
            YAML.writeValue(copy.resolve("values.yaml").toFile(), merged);
            return new Helm(copy).lint().strict().call();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the merged values into " + copy, e);
        } finally {
            deleteTree(copy.getParent());
        }
    }

    static Path resource(String name) {
        try {
            var url = MsmChart.class.getResource("/" + name);
            if (url == null) {
                throw new IllegalStateException("test resource " + name + " is missing");
            }
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> readYaml(Path file) {
        try {
            Map<String, Object> m = YAML.readValue(file.toFile(), LinkedHashMap.class);
            return m == null ? new LinkedHashMap<>() : m;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read YAML " + file, e);
        }
    }

    /** Helm's coalescing of values: maps merge key by key, anything else is replaced. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> merge(Map<String, Object> base, Map<String, Object> over) {
        Map<String, Object> out = new LinkedHashMap<>(base);
        over.forEach(
                (k, v) -> {
                    Object b = out.get(k);
                    if (b instanceof Map && v instanceof Map) {
                        out.put(k, merge((Map<String, Object>) b, (Map<String, Object>) v));
                    } else {
                        out.put(k, v);
                    }
                });
        return out;
    }

    private static Path copyChart() {
        try {
            Path root = Files.createTempDirectory("msm-chart-");
            Path target = root.resolve("msm");
            Path src = dir();
            Files.walkFileTree(
                    src,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a)
                                throws IOException {
                            Files.createDirectories(target.resolve(src.relativize(d).toString()));
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFile(Path f, BasicFileAttributes a)
                                throws IOException {
                            Files.copy(
                                    f,
                                    target.resolve(src.relativize(f).toString()),
                                    StandardCopyOption.REPLACE_EXISTING);
                            return FileVisitResult.CONTINUE;
                        }
                    });
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy the chart to a temporary directory", e);
        }
    }

    private static Path writeTemp(String text) {
        try {
            Path f = Files.createTempFile("msm-values-", ".yaml");
            Files.writeString(f, text);
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a temporary values file", e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover temp file is harmless
        }
    }

    private static void deleteTree(Path root) {
        try (var s = Files.walk(root)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount())
                    .forEach(MsmChart::deleteQuietly);
        } catch (IOException ignored) {
            // idem
        }
    }
}
