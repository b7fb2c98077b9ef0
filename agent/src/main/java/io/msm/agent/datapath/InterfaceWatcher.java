package io.msm.agent.datapath;

import io.msm.agent.net.netlink.NetlinkException;
import io.msm.agent.net.netlink.RtNetlink;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps msm on every interface of the default set while links come and go: on a Kubernetes node
 * each pod's veth appears when the pod starts, and media from a pod is classified and fanned out
 * only if msm's TC program is on the veth it arrives by. Link events (rtnetlink) trigger a look at
 * the default set, a short quiet time after the last one (a pod start brings several: create,
 * rename, up); a periodic look catches anything missed.
 *
 * <p>Used when the config names no interfaces; a list in the config is taken as it is.
 */
public final class InterfaceWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InterfaceWatcher.class);

    /** How long link events are collected after the first before the set is looked at. */
    static final long SETTLE_MS = 300;

    /** Never collect for longer than this: a steady stream of events still gets a look. */
    static final long SETTLE_MAX_MS = 2000;

    private final DatapathOwner owner;
    private final RtNetlink events;
    private final long rescanNs;
    private final Thread thread;
    private final AtomicLong changes = new AtomicLong();
    private volatile boolean stop;

    private InterfaceWatcher(DatapathOwner owner, RtNetlink events, Duration rescan) {
        this.owner = owner;
        this.events = events;
        this.rescanNs = rescan.toNanos();
        this.thread = new Thread(this::run, "msm-interfaces");
        this.thread.setDaemon(true);
    }

    /** Start following; the events socket is opened here, in the caller's network namespace. */
    public static InterfaceWatcher start(DatapathOwner owner, Duration rescan) {
        RtNetlink events;
        try {
            events = RtNetlink.openLinkEvents(SETTLE_MS);
        } catch (NetlinkException e) {
            throw new IllegalStateException(
                    "cannot follow the node's interfaces: " + e.getMessage(), e);
        }
        InterfaceWatcher w = new InterfaceWatcher(owner, events, rescan);
        w.thread.start();
        return w;
    }

    /** How many times the attachments changed since the start. */
    public long changes() {
        return changes.get();
    }

    private void run() {
        long next = System.nanoTime() + rescanNs;
        while (!stop) {
            boolean changed;
            try {
                changed = events.awaitLinkChange();
                if (changed) {
                    long until = System.nanoTime() + SETTLE_MAX_MS * 1_000_000;
                    while (!stop && System.nanoTime() < until && events.awaitLinkChange()) {
                        // more events within SETTLE_MS: keep collecting
                    }
                }
            } catch (NetlinkException | RuntimeException e) {
                if (stop) {
                    return;
                }
                log.warn(
                        "reading link events: {} (looking at the interfaces every {} s meanwhile)",
                        e.getMessage(),
                        rescanNs / 1_000_000_000L);
                sleep(1000);
                changed = true;
            }
            if (stop) {
                return;
            }
            if (!changed && System.nanoTime() - next < 0) {
                continue;
            }
            next = System.nanoTime() + rescanNs;
            follow();
        }
    }

    private void follow() {
        try {
            List<String> want = Interfaces.defaultSet();
            DatapathOwner.Change c = owner.follow(want);
            if (c.any()) {
                changes.incrementAndGet();
                log.info(
                        "interfaces changed: attached to {}, detached from {}",
                        c.attached(),
                        c.detached());
            }
        } catch (RuntimeException e) {
            log.warn("following the interfaces: {}", e.getMessage());
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop = true;
        try {
            thread.join(SETTLE_MAX_MS + 2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        events.close();
    }
}
