package io.msm.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs system commands (ip, tc, ethtool) with a timeout; a failure says which command and why. */
public final class Sh {
    private Sh() {}

    public record Result(int exit, String out, String err) {}

    /** Run and require exit 0. */
    public static String run(String... cmd) {
        Result r = exec(cmd);
        if (r.exit != 0) {
            throw new IllegalStateException(
                    "command failed (exit "
                            + r.exit
                            + "): "
                            + String.join(" ", cmd)
                            + "\n"
                            + r.err.trim());
        }
        return r.out;
    }

    /** Run, never throw for a non-zero exit. */
    public static Result exec(String... cmd) {
        return exec(30, cmd);
    }

    public static Result exec(int timeoutSeconds, String... cmd) {
        ProcessBuilder pb = new ProcessBuilder(Arrays.asList(cmd));
        try {
            Process p = pb.start();
            byte[][] out = new byte[2][];
            Thread t =
                    new Thread(
                            () -> {
                                try {
                                    out[1] = p.getErrorStream().readAllBytes();
                                } catch (IOException e) {
                                    out[1] = new byte[0];
                                }
                            });
            t.start();
            out[0] = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(
                        "command timed out after "
                                + timeoutSeconds
                                + " s: "
                                + String.join(" ", cmd));
            }
            t.join();
            return new Result(
                    p.exitValue(),
                    new String(out[0], StandardCharsets.UTF_8),
                    new String(out[1] == null ? new byte[0] : out[1], StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + cmd[0] + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", cmd), e);
        }
    }

    /** True if the program is on PATH (or an absolute path that exists). */
    public static boolean have(String program) {
        if (program.startsWith("/")) {
            return new File(program).canExecute();
        }
        for (String dir :
                System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (new File(dir, program).canExecute()) {
                return true;
            }
        }
        return false;
    }

    public static List<String> args(String... a) {
        return new ArrayList<>(Arrays.asList(a));
    }
}
