package io.msm.agent.ng;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.config.NgSettings;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.limits.SourceRate;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NG protocol over UDP: each datagram is {@code cookie SP bencoded-dictionary}, each reply
 * {@code cookie SP dictionary}. In order, a datagram is dropped (and counted in
 * msm_refused_total{protocol="ng"}) when its source is not in ng.sources or over its rate; an
 * oversized or unreadable one is answered with an error; a retransmission (same cookie, same
 * source) is answered from the reply cache, or ignored while its first copy is still being served;
 * anything else runs on the NG thread.
 */
public final class NgServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NgServer.class);
    static final int MAX_COOKIE = 64;

    private final NgSettings settings;
    private final NgCalls calls;
    private final NgMetrics metrics;
    private final SourceRate rate;
    private final LongSupplier nanos;
    private final ScheduledExecutorService thread =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "msm-ng");
                        t.setDaemon(true);
                        return t;
                    });
    private DatagramChannel channel;
    private Thread receiver;
    private volatile boolean closed;

    private record Key(String cookie, InetSocketAddress from) {}

    /** a reply, or null while the request is being served */
    private record Cached(byte[] reply, long atNanos) {}

    @GuardedBy("this")
    private final LinkedHashMap<Key, Cached> cache = new LinkedHashMap<>(64, 0.75f, false);

    public NgServer(NgSettings settings, NgCalls calls, NgMetrics metrics, LongSupplier nanos) {
        this.settings = settings;
        this.calls = calls;
        this.metrics = metrics;
        this.nanos = nanos;
        this.rate =
                new SourceRate(settings.requestsPerSecond(), settings.requestBurst(), 4096, nanos);
    }

    /** The NG thread: every call change runs here. */
    public ScheduledExecutorService thread() {
        return thread;
    }

    /** Restore the state file's calls, then bind and serve. */
    public void start() throws Exception {
        thread.submit(calls::restore).get(60, TimeUnit.SECONDS);
        calls.scheduler(thread);
        InetSocketAddress bind = settings.listen().socketAddress();
        channel = DatagramChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
            channel.bind(bind);
        } catch (IOException e) {
            channel.close();
            throw new IOException("ng.listen " + bind + ": " + e.getMessage(), e);
        }
        thread.scheduleWithFixedDelay(calls::sweep, 5, 5, TimeUnit.SECONDS);
        receiver = new Thread(this::receive, "msm-ng-udp");
        receiver.setDaemon(true);
        receiver.start();
    }

    public InetSocketAddress local() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    private void receive() {
        ByteBuffer buf = ByteBuffer.allocate(65536);
        while (!closed) {
            InetSocketAddress from;
            try {
                buf.clear();
                from = (InetSocketAddress) channel.receive(buf);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    log.warn("NG listener: {}", e.getMessage());
                }
                continue;
            }
            buf.flip();
            byte[] data = new byte[buf.remaining()];
            buf.get(data);
            try {
                datagram(data, from);
            } catch (RuntimeException e) {
                log.warn("NG request from {}: {}", from, e.toString());
            }
        }
    }

    /** One datagram from {@code from} (the receiving thread; tests call it directly). */
    void datagram(byte[] data, InetSocketAddress from) {
        long t0 = nanos.getAsLong();
        if (!settings.sources().contains(from.getAddress())) {
            metrics.refusals().refuse("source", "NG request from " + from + ", not in ng.sources");
            return;
        }
        if (!rate.tryAcquire(SourceKey.of(from.getAddress()))) {
            metrics.refusals()
                    .refuse(
                            "rate",
                            "NG requests from "
                                    + from
                                    + " over ng.requests-per-second ("
                                    + settings.requestsPerSecond()
                                    + ")");
            return;
        }
        int sp = -1;
        for (int i = 0; i < data.length && i <= MAX_COOKIE; i++) {
            if (data[i] == ' ') {
                sp = i;
                break;
            }
            if (data[i] < 0x21 || data[i] > 0x7e) {
                break;
            }
        }
        if (sp <= 0) {
            metrics.refusals()
                    .refuse("malformed", "NG datagram from " + from + " without a cookie");
            return; // nothing to answer to
        }
        String cookie = new String(data, 0, sp, StandardCharsets.US_ASCII);
        Key key = new Key(cookie, from);
        if (data.length > settings.maxRequestBytes()) {
            metrics.refusals()
                    .refuse("oversized", "NG request of " + data.length + " bytes from " + from);
            reply(key, NgCalls.error("Request larger than ng.max-request-bytes"), null, t0);
            return;
        }
        synchronized (this) {
            Cached c = cache.get(key);
            if (c != null && nanos.getAsLong() - c.atNanos() < ttlNanos()) {
                if (c.reply() != null) {
                    metrics.retransmit();
                    send(c.reply(), from);
                }
                return; // being served: its reply answers this copy too
            }
            if (settings.replyCacheSize() > 0) {
                cache.remove(key);
                cache.put(key, new Cached(null, nanos.getAsLong()));
                trim();
            }
        }
        NgRequest req;
        try {
            req =
                    new NgRequest(
                            Bencode.decodeDict(
                                    data,
                                    sp + 1,
                                    data.length - sp - 1,
                                    new Bencode.Limits(settings.maxRequestBytes(), 16, 4096)));
        } catch (BencodeException e) {
            metrics.refusals()
                    .refuse("malformed", "NG request from " + from + ": " + e.getMessage());
            reply(key, NgCalls.error("Could not decode bencode dictionary"), null, t0);
            return;
        }
        try {
            thread.execute(
                    () -> {
                        CompletableFuture<Map<String, Object>> f;
                        try {
                            f = calls.handle(req);
                        } catch (RuntimeException e) {
                            log.warn("NG {} from {}: {}", req.command(), from, e.toString());
                            f =
                                    CompletableFuture.completedFuture(
                                            NgCalls.error("Internal error: " + e.getMessage()));
                        }
                        f.whenComplete(
                                (m, e) ->
                                        reply(
                                                key,
                                                e != null
                                                        ? NgCalls.error(
                                                                "Internal error: " + e.getMessage())
                                                        : m,
                                                req.command(),
                                                t0));
                    });
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private long ttlNanos() {
        return settings.replyCacheTtl().toNanos();
    }

    @GuardedBy("this")
    private void trim() {
        long now = nanos.getAsLong();
        Iterator<Map.Entry<Key, Cached>> it = cache.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Key, Cached> e = it.next();
            if (cache.size() > settings.replyCacheSize()
                    || now - e.getValue().atNanos() >= ttlNanos()) {
                it.remove();
            } else {
                break;
            }
        }
    }

    private void reply(Key key, Map<String, Object> dict, String command, long t0) {
        byte[] c = key.cookie().getBytes(StandardCharsets.US_ASCII);
        byte[] body = Bencode.encode(dict);
        byte[] out = Arrays.copyOf(c, c.length + 1 + body.length);
        out[c.length] = ' ';
        System.arraycopy(body, 0, out, c.length + 1, body.length);
        synchronized (this) {
            if (settings.replyCacheSize() > 0 && cache.containsKey(key)) {
                cache.put(key, new Cached(out, nanos.getAsLong()));
            }
        }
        send(out, key.from());
        metrics.request(
                command, Objects.toString(dict.get("result"), "error"), nanos.getAsLong() - t0);
    }

    /** Replies sent (tests); overridden there. */
    void send(byte[] out, InetSocketAddress to) {
        try {
            channel.send(ByteBuffer.wrap(out), to);
        } catch (IOException e) {
            if (!closed) {
                log.debug("NG reply to {}: {}", to, e.getMessage());
            }
        }
    }

    /** Replies kept now (tests). */
    synchronized int cached() {
        return cache.size();
    }

    @Override
    public void close() {
        closed = true;
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // going
            }
        }
        thread.shutdown();
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        calls.close();
    }
}
