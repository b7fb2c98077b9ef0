package io.msm.testkit;

import io.msm.bpf.libbpf.LibC;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.maps.Addr;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A network namespace this test created ({@code ip netns add}); deleted by {@link #close()}, which
 * also destroys its interfaces (and so their veth peers, qdiscs and filters).
 *
 * <p>{@link #call} runs code on a fresh thread that has entered the namespace: sockets it opens,
 * netlink calls it makes (libbpf's TC/XDP attach) and BPF_PROG_TEST_RUN skbs all belong to the
 * namespace. The thread ends afterwards, so no other code ever runs in the wrong namespace.
 */
public final class Netns implements AutoCloseable {
    private final String name;
    private boolean closed;

    private Netns(String name) {
        this.name = name;
    }

    /**
     * Create a namespace (removing a stale one of the same name) with lo up and IPv6 off, so new
     * links stay quiet (no router solicitations or MLD reports to confuse packet counts).
     */
    public static Netns create(String name) {
        return create(name, false);
    }

    public static Netns create(String name, boolean ipv6) {
        if (name.length() > 32) {
            throw new IllegalArgumentException("namespace name too long: " + name);
        }
        Sh.exec("ip", "netns", "del", name);
        Sh.run("ip", "netns", "add", name);
        Netns ns = new Netns(name);
        try {
            if (!ipv6) {
                ns.exec(
                        "sysctl",
                        "-q",
                        "-w",
                        "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1");
            }
            ns.ip("link", "set", "lo", "up");
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    public String name() {
        return name;
    }

    /** Run {@code ip -n <ns> args...}. */
    public String ip(String... args) {
        String[] cmd = new String[args.length + 3];
        cmd[0] = "ip";
        cmd[1] = "-n";
        cmd[2] = name;
        System.arraycopy(args, 0, cmd, 3, args.length);
        return Sh.run(cmd);
    }

    /** Run any command inside the namespace ({@code ip netns exec}). */
    public String exec(String... args) {
        String[] cmd = new String[args.length + 4];
        cmd[0] = "ip";
        cmd[1] = "netns";
        cmd[2] = "exec";
        cmd[3] = name;
        System.arraycopy(args, 0, cmd, 4, args.length);
        return Sh.run(cmd);
    }

    public int ifindex(String ifname) {
        return call(
                () -> {
                    int idx = Native.get().libc.if_nametoindex(ifname);
                    if (idx == 0) {
                        throw new IllegalStateException(
                                "no interface " + ifname + " in netns " + name);
                    }
                    return idx;
                });
    }

    public byte[] mac(String ifname) {
        String out = ip("-o", "link", "show", "dev", ifname);
        int i = out.indexOf("link/ether ");
        if (i < 0) {
            throw new IllegalStateException("no MAC for " + ifname + " in " + name + ": " + out);
        }
        return Addr.parseMac(out.substring(i + 11, i + 28));
    }

    /** Run task on a thread inside this namespace (60 s limit). */
    public <T> T call(Callable<T> task) {
        FutureTask<T> f =
                new FutureTask<>(
                        () -> {
                            enter();
                            return task.call();
                        });
        Thread t = new Thread(f, "netns-" + name);
        t.setDaemon(true);
        t.start();
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error er) {
                throw er;
            }
            throw new IllegalStateException(c);
        } catch (TimeoutException e) {
            t.interrupt();
            throw new IllegalStateException("task in netns " + name + " timed out", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public void run(Runnable task) {
        call(
                () -> {
                    task.run();
                    return null;
                });
    }

    private void enter() {
        Native n = Native.get();
        int fd = n.libc.open("/var/run/netns/" + name, LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw new IllegalStateException(
                    "cannot open netns " + name + ": " + n.describe(n.lastErrno()));
        }
        try {
            if (n.libc.setns(fd, LibC.CLONE_NEWNET) != 0) {
                throw new IllegalStateException(
                        "setns(" + name + "): " + n.describe(n.lastErrno()));
            }
        } finally {
            n.libc.close(fd);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Sh.exec("ip", "netns", "del", name);
        }
    }
}
