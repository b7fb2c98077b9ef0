package io.msm.testkit;

import io.msm.bpf.Bpffs;
import io.msm.bpf.libbpf.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** See {@link KernelTest}. */
public final class KernelTestCondition implements BeforeAllCallback {
    private static volatile String missing;
    private static volatile boolean checked;

    @Override
    public void beforeAll(ExtensionContext context) {
        String why = whyNot();
        if (why == null) {
            return;
        }
        String msg = context.getDisplayName() + " needs a real kernel: " + why;
        if (isCi()) {
            Assertions.fail(msg + " — CI=true, so this is a failure, not a skip (CI runs as root)");
        }
        Assumptions.abort(msg + " — skipped (run as root, e.g. 'sudo make test')");
    }

    public static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /**
     * A peer program or library a test needs ({@code make deps} installs it): missing, the test is
     * skipped with {@code what} — under {@code CI=true} it fails instead, so CI never passes by
     * skipping.
     */
    public static void require(boolean present, String what) {
        if (present) {
            return;
        }
        String msg = what + " not installed (make deps installs it)";
        if (isCi()) {
            Assertions.fail(msg + " — CI=true, so this is a failure, not a skip");
        }
        Assumptions.abort(msg);
    }

    /** {@link #require} for programs on the PATH. */
    public static void requireTools(String... tools) {
        for (String t : tools) {
            require(Sh.have(t), t);
        }
    }

    /** null when root, libbpf, bpffs and `ip` are all there; else the reason. */
    public static synchronized String whyNot() {
        if (checked) {
            return missing;
        }
        checked = true;
        missing = probe();
        return missing;
    }

    private static String probe() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] f = line.split("\\s+");
                    if (!"0".equals(f[2])) {
                        return "not running as root (effective uid " + f[2] + ")";
                    }
                }
            }
        } catch (IOException e) {
            return "cannot read /proc/self/status";
        }
        try {
            Native.get();
        } catch (RuntimeException e) {
            return e.getMessage();
        }
        if (!Sh.have("ip")) {
            return "iproute2 ('ip') is not installed: run 'make deps'";
        }
        try {
            Bpffs.ensure(Bpffs.DEFAULT_ROOT);
        } catch (RuntimeException e) {
            return "no bpffs: " + e.getMessage();
        }
        return null;
    }
}
