package io.msm.testkit;

import io.msm.bpf.BpfException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Prints how hard the datapath's programs are to verify on the running kernel, as lines of
 * verifier-budget.properties with a comment giving each one's share of its budget. The VM runner
 * calls it inside each guest.
 *
 * <pre>
 * VerifierReport [--budget FILE]                  measure here, print
 * VerifierReport --record FILE [--from MEASURED]  measure here (or take the lines of
 *                                                 MEASURED, e.g. a guest's output) and
 *                                                 write them into FILE
 * </pre>
 *
 * Exit status: 0 when every program loaded and is within budget, 1 when one is over budget, 2 when
 * the kernel rejected the datapath (the verifier log is printed).
 */
public final class VerifierReport {
    private VerifierReport() {}

    public static void main(String[] args) {
        Path budgetFile = null;
        Path record = null;
        Path from = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--budget" -> budgetFile = Path.of(args[++i]);
                case "--record" -> record = Path.of(args[++i]);
                case "--from" -> from = Path.of(args[++i]);
                case "-h", "--help" -> {
                    System.out.println(
                            "usage: VerifierReport [--budget FILE] | --record FILE [--from MEASURED]");
                    return;
                }
                default -> {
                    System.err.println(
                            "VerifierReport: unknown argument " + args[i] + " (see --help)");
                    System.exit(64);
                }
            }
        }
        if (record != null) {
            budgetFile = record;
        }
        VerifierBudget budget =
                budgetFile != null
                        ? VerifierBudget.read(budgetFile)
                        : VerifierBudget.fromClasspath();

        Map<String, Map<String, Integer>> byKernel = new LinkedHashMap<>();
        if (from != null) {
            byKernel.putAll(parseMeasured(from));
        } else {
            String release = VerifierBudget.kernelRelease();
            try {
                byKernel.put(release, VerifierBudget.measure());
            } catch (BpfException e) {
                System.out.println(
                        "# kernel " + release + ": the datapath did not load: " + e.getMessage());
                System.exit(2);
            }
        }

        boolean over = false;
        for (var k : byKernel.entrySet()) {
            for (var p : k.getValue().entrySet()) {
                var b = budget.budget(p.getKey());
                String share =
                        b.isPresent()
                                ? String.format(
                                        "of budget %d (%.1f%%)%s",
                                        b.getAsInt(),
                                        100.0 * p.getValue() / b.getAsInt(),
                                        p.getValue() > b.getAsInt() ? " OVER BUDGET" : "")
                                : "(no budget set)";
                over |= b.isPresent() && p.getValue() > b.getAsInt();
                System.out.printf(
                        "# kernel %s: %s processed %d insns %s%n",
                        k.getKey(), p.getKey(), p.getValue(), share);
                System.out.println(
                        VerifierBudget.measuredKey(k.getKey(), p.getKey()) + "=" + p.getValue());
                budget.record(k.getKey(), p.getKey(), p.getValue());
            }
        }
        if (record != null) {
            budget.write(record);
            System.out.println("# recorded in " + record);
        }
        System.exit(over ? 1 : 0);
    }

    /** measured.KERNEL.PROG=N lines of a report; the program is the part after the last dot. */
    static Map<String, Map<String, Integer>> parseMeasured(Path file) {
        Map<String, Map<String, Integer>> out = new LinkedHashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot read measured figures from " + file + ": " + e.getMessage(), e);
        }
        for (String l : lines) {
            int eq = l.indexOf('=');
            if (l.startsWith("measured.") && eq > 0) {
                String key = l.substring("measured.".length(), eq);
                int dot = key.lastIndexOf('.');
                out.computeIfAbsent(key.substring(0, dot), x -> new LinkedHashMap<>())
                        .put(key.substring(dot + 1), Integer.parseInt(l.substring(eq + 1).trim()));
            }
        }
        return out;
    }
}
