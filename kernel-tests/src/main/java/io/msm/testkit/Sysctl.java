package io.msm.testkit;

/** A sysctl raised for the duration of a test and put back afterwards. */
public final class Sysctl implements AutoCloseable {
    private final String name;
    private final String before;

    private Sysctl(String name, String before) {
        this.name = name;
        this.before = before;
    }

    /**
     * Make the integer sysctl at least {@code min}, e.g. net.core.netdev_max_backlog, which bounds
     * how many clones one CPU can queue towards veth peers.
     */
    public static Sysctl atLeast(String name, long min) {
        // through sysctl(8): java.nio's readString/writeString misread procfs files
        String cur = Sh.run("sysctl", "-n", name).trim();
        if (Long.parseLong(cur) < min) {
            Sh.run("sysctl", "-q", "-w", name + "=" + min);
        }
        return new Sysctl(name, cur);
    }

    @Override
    public void close() {
        Sh.run("sysctl", "-q", "-w", name + "=" + before);
    }
}
