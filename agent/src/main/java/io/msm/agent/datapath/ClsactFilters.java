package io.msm.agent.datapath;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Whether a clsact qdisc still holds any filter (asked through tc(8), which lists every kind). */
final class ClsactFilters {
    private ClsactFilters() {
    }

    static boolean empty(int ifindex) {
        String name = Interfaces.name(ifindex);
        if (name == null) {
            return false;
        }
        return list(name, "ingress").isBlank() && list(name, "egress").isBlank();
    }

    private static String list(String dev, String dir) {
        try {
            Process p = new ProcessBuilder("tc", "filter", "show", "dev", dev, dir).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "unknown"; // cannot tell: treat as not empty, keep the qdisc
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }
}
