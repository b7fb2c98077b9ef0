package io.msm.testkit;

import io.msm.bpf.BpfObject;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.ProgInfo;
import io.msm.bpf.intercept.ConnectRedirect;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The verifier-complexity budget of the datapath's programs and the figures last measured per
 * kernel, as kept in kernel-tests/verifier-budget.properties:
 *
 * <pre>
 * budget.msm_tc_ingress=60000
 * measured.6.1.0-56-amd64.msm_tc_ingress=31337
 * </pre>
 *
 * The budget guards against a change that makes a program far harder to verify (the kernel's hard
 * limit is 1M processed instructions, and older kernels give up sooner on complex branches); the
 * measured lines are a record, not a check.
 */
public final class VerifierBudget {
    /** On the test classpath (the module's pom copies the file there). */
    public static final String RESOURCE = "/verifier-budget.properties";

    private static final String BUDGET = "budget.";
    private static final String MEASURED = "measured.";

    private final List<String> lines;

    private VerifierBudget(List<String> lines) {
        this.lines = new ArrayList<>(lines);
    }

    public static VerifierBudget parse(String text) {
        return new VerifierBudget(List.of(text.split("\n", -1)));
    }

    public static VerifierBudget read(Path file) {
        try {
            return parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot read the verifier budget " + file + ": " + e.getMessage(), e);
        }
    }

    public static VerifierBudget fromClasspath() {
        try (InputStream in = VerifierBudget.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(
                        RESOURCE
                                + " is not on the classpath: build kernel-tests with Maven"
                                + " (its pom copies kernel-tests/verifier-budget.properties into target/test-classes)");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The budget of a program, in verifier-processed instructions. */
    public OptionalInt budget(String prog) {
        String v = value(BUDGET + prog);
        return v == null ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(v.trim()));
    }

    /** Figures last recorded for a kernel release, program -> instructions. */
    public Map<String, Integer> measured(String kernelRelease) {
        Map<String, Integer> out = new LinkedHashMap<>();
        String prefix = MEASURED + kernelRelease + ".";
        for (String l : lines) {
            int eq = l.indexOf('=');
            if (!l.startsWith("#") && eq > 0 && l.startsWith(prefix)) {
                out.put(
                        l.substring(prefix.length(), eq).trim(),
                        Integer.parseInt(l.substring(eq + 1).trim()));
            }
        }
        return out;
    }

    /** Set (or add) the measured figure of a program on a kernel; comments and order are kept. */
    public VerifierBudget record(String kernelRelease, String prog, int insns) {
        String key = measuredKey(kernelRelease, prog);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(key + "=")) {
                lines.set(i, key + "=" + insns);
                return this;
            }
        }
        int end = lines.size();
        while (end > 0 && lines.get(end - 1).isEmpty()) {
            end--;
        }
        lines.add(end, key + "=" + insns);
        return this;
    }

    public String text() {
        String t = String.join("\n", lines);
        return t.endsWith("\n") ? t : t + "\n";
    }

    public void write(Path file) {
        try {
            Files.writeString(file, text(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    public static String measuredKey(String kernelRelease, String prog) {
        return MEASURED + kernelRelease + "." + prog;
    }

    private String value(String key) {
        for (String l : lines) {
            if (l.startsWith(key + "=")) {
                return l.substring(key.length() + 1);
            }
        }
        return null;
    }

    /** The running kernel's release (uname -r). */
    public static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return System.getProperty("os.version");
        }
    }

    /**
     * Every program msm loads: the datapath's (TC, XDP) and the pod interception's (cgroup
     * sock_addr).
     */
    public static final List<String> PROGRAMS =
            List.copyOf(concat(Datapath.PROGRAMS, ConnectRedirect.PROGRAMS));

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /**
     * Load the datapath (small maps: their size does not change verification) and the interception
     * object (loaded only: nothing pinned, nothing attached) and read each program's "processed N
     * insns"; 0 where the kernel does not report it (before 5.16).
     */
    public static Map<String, Integer> measure() {
        Map<String, Integer> out = new LinkedHashMap<>();
        try (Datapath dp = Datapath.load(new DatapathSpec(1024, 4, 64, 64, 1024))) {
            for (String p : Datapath.PROGRAMS) {
                out.put(p, dp.progInfo(p).verifiedInsns());
            }
        }
        try (BpfObject icpt = BpfObject.load("msm_intercept", ConnectRedirect.objectBytes())) {
            for (String p : ConnectRedirect.PROGRAMS) {
                out.put(p, ProgInfo.of(icpt.progFd(p)).verifiedInsns());
            }
        }
        return out;
    }
}
