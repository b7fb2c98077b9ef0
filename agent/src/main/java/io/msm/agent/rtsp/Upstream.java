package io.msm.agent.rtsp;

import io.msm.agent.config.RtspSettings;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayPair;
import io.msm.agent.routing.Backend;
import io.msm.agent.rtsp.client.RtspClient;
import io.msm.agent.rtsp.client.TlsFailure;
import io.msm.agent.rtsp.sdp.MediaDescription;
import io.msm.agent.rtsp.sdp.SdpException;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.msm.agent.rtsp.wire.InterleavedFrame;
import io.msm.agent.rtsp.wire.RtspHeaders;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.msm.agent.rtsp.wire.TransportSpec;
import io.netty.buffer.ByteBuf;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one session a pulled path holds with its upstream RTSP server: the proxy DESCRIBEs, SETUPs
 * every RTP/AVP track over UDP to a relay pair of its own (so the upstream's packets take the
 * kernel fan-out like a publisher's), PLAYs, and keeps the session alive with OPTIONS. An {@code
 * rtsps://} upstream is reached over TLS ({@link UpstreamTls}) and asked for its media interleaved
 * on that connection (RTP/AVP/TCP), injected into the same relays. Shared by every viewer of the
 * path; opened for the first, closed {@code rtsp.upstream-linger} after the last. It tells {@link
 * PulledPaths} how it goes (described, playing, lost), which changes the path under the registry's
 * lock.
 *
 * <p>A hot standby (a StreamRoute's {@code spec.hotStandby}) is a second Upstream of the same path:
 * it DESCRIBEs its own target, must describe the same tracks, and SETUPs them to the relays the
 * active upstream opened (same client ports), which then admit its ports as the standby source: the
 * kernel forwards it once the active one's RTP has been silent for the configured time, one
 * continuous stream either way. A standby is pulled over UDP only (an {@code rtsps://} standby is
 * refused at its SETUP: interleaved media is injected, past the kernel's choice of source).
 */
final class Upstream {
    private static final Logger log = LoggerFactory.getLogger(Upstream.class);

    enum State {
        CONNECTING,
        PLAYING,
        CLOSED
    }

    private final PulledPaths paths;
    final StreamPath path;
    private final URI uri;
    private final String url;
    private volatile State state = State.CONNECTING;
    private final CompletableFuture<Stream> ready = new CompletableFuture<>();
    private volatile RtspClient client;
    private volatile Stream stream;
    private volatile String session;
    private volatile ScheduledFuture<?> keepAlive;

    /** non-null: this is the path's hot standby session, pulling from this target */
    final Backend.Standby standby;

    Upstream(PulledPaths paths, StreamPath path) {
        this(paths, path, null);
    }

    Upstream(PulledPaths paths, StreamPath path, Backend.Standby standby) {
        this.paths = paths;
        this.path = path;
        this.standby = standby;
        this.uri = standby != null ? standby.upstream() : path.config.upstream();
        this.url = UpstreamCredentials.withoutUserInfo(uri);
        this.tls = UpstreamTls.isTls(uri);
    }

    /** A standby that takes the active upstream's place: its stream is now the path's. */
    void promoted(Stream s) {
        stream = s;
    }

    /** An active upstream replaced by its standby: closing it leaves the stream to the standby. */
    void replaced() {
        stream = null;
    }

    State state() {
        return state;
    }

    /** Completes with the live stream once the upstream answered PLAY. */
    CompletableFuture<Stream> ready() {
        return ready;
    }

    Stream stream() {
        return stream;
    }

    /** Its stream, once described (by {@link PulledPaths#described}, under the registry's lock). */
    void described(Stream s) {
        stream = s;
    }

    /** PLAY answered (by {@link PulledPaths#playing}, under the registry's lock). */
    void playing() {
        state = State.PLAYING;
    }

    void start() {
        int port = UpstreamTls.port(uri);
        RtspSettings.UpstreamTls tlsCfg = paths.settings().auth().upstreamTls();
        log.info(
                "{}: opening {} session to {}{}",
                path.name,
                standby != null ? "hot-standby upstream" : "upstream",
                url,
                !tls
                        ? ""
                        : tlsCfg.verifyHost()
                                ? " (TLS, media interleaved)"
                                : " (TLS, media interleaved; host name NOT verified:"
                                        + " rtsp.upstream-tls.verify-host is false)");
        InetSocketAddress addr;
        try {
            addr = new InetSocketAddress(uri.getHost(), port);
            if (addr.isUnresolved()) {
                throw new IOException("cannot resolve " + uri.getHost());
            }
        } catch (IOException | IllegalArgumentException e) {
            fail(e);
            return;
        }
        RtspSettings settings = paths.settings();
        SslContext ssl = null;
        if (tls) {
            try {
                ssl = UpstreamTls.context(tlsCfg);
            } catch (IOException e) {
                fail(e);
                return;
            }
        }
        UpstreamCredentials.Login login;
        try {
            login = UpstreamCredentials.forUrl(uri, settings.auth().upstreamCredentialsFile());
        } catch (IOException e) {
            fail(new IOException("rtsp.upstream-credentials-file: " + e.getMessage(), e));
            return;
        }
        String host = uri.getHost();
        if (host.startsWith("[")) {
            host = host.substring(1, host.length() - 1);
        }
        RtspClient.connect(
                        paths.workers(),
                        addr,
                        null,
                        ssl,
                        host,
                        settings.upstreamTimeout(),
                        settings.maxHeaderBytes(),
                        settings.maxBodyBytes())
                .thenCompose(
                        c -> {
                            if (login.user() != null) {
                                c.credentials(login.user(), login.password());
                            }
                            client = c;
                            if (tls) {
                                c.onInterleaved(this::onInterleaved);
                            }
                            if (state == State.CLOSED) {
                                c.close();
                                throw new CompletionException(
                                        new IOException("closed while connecting"));
                            }
                            c.closeFuture()
                                    .thenRun(() -> lost("connection closed by the upstream"));
                            RtspHeaders h = new RtspHeaders().add("Accept", "application/sdp");
                            Backend b = path.routed;
                            if (b != null && b.viaPeer()) {
                                // a relay tree edge: the peer serves this only from its own
                                // sources
                                h.add(Backend.Via.HEADER, b.via().header());
                            }
                            return c.request("DESCRIBE", url, h);
                        })
                .thenCompose(this::onDescribe)
                .thenCompose(this::play)
                .whenComplete(
                        (s, e) -> {
                            if (e != null) {
                                fail(e);
                            }
                        });
        paths.timers()
                .schedule(
                        () -> {
                            if (!ready.isDone() && tls && client == null) {
                                fail(
                                        TlsFailure.timeout(
                                                uri.getHost() + ":" + port,
                                                settings.upstreamTimeout().toMillis()));
                            } else if (!ready.isDone()) {
                                fail(
                                        new IOException(
                                                "not playing after "
                                                        + settings.upstreamTimeout().toMillis()
                                                        + " ms (rtsp.upstream-timeout)"));
                            }
                        },
                        settings.upstreamTimeout().toMillis(),
                        TimeUnit.MILLISECONDS);
    }

    private static RtspResponse ok(RtspResponse r, String what) {
        if (r.status() != 200) {
            throw new CompletionException(
                    new IOException(what + " answered " + r.status() + " " + r.reason()));
        }
        return r;
    }

    private CompletableFuture<Stream> onDescribe(RtspResponse r) {
        ok(r, "DESCRIBE");
        SessionDescription sdp;
        try {
            sdp = SessionDescription.parse(r.bodyText());
        } catch (SdpException e) {
            throw new CompletionException(
                    new IOException("upstream description: " + e.getMessage()));
        }
        String base =
                r.headers()
                        .get("Content-Base")
                        .or(() -> r.headers().get("Content-Location"))
                        .orElse(url);
        Stream s = standby != null ? paths.standbyDescribed(this, sdp) : paths.described(this, sdp);
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (Track t : s.tracks) {
            if (!t.media.isRtpAvp()) {
                continue; // served without this track: viewers SETUP what the proxy could set up
            }
            // a standby SETUPs its own description's control URLs into the active one's relays
            MediaDescription m = sdp.media().get(t.index);
            int n = sdp.media().size();
            chain = chain.thenCompose(x -> setup(t, m, n, base));
        }
        aggregateUrl = aggregate(sdp, base);
        return chain.thenApply(
                x -> {
                    if (s.tracks.stream().noneMatch(t -> t.relays() != null)) {
                        throw new CompletionException(
                                new IOException("no RTP/AVP track in the upstream description"));
                    }
                    return s;
                });
    }

    private volatile String aggregateUrl;

    /**
     * rtsps:// upstreams send their media interleaved on the TLS connection (RTP/AVP/TCP), so that
     * none of it travels in clear; the frames are injected into the tracks' relays as a publisher's
     * interleaved media is. Plain rtsp:// upstreams send RTP over UDP to the relays.
     */
    private final boolean tls;

    /** interleaved channel → the relay it feeds (RTP or RTCP of a track); TLS only */
    private final Map<Integer, Relay> channels = new ConcurrentHashMap<>();

    /**
     * A track whose upstream's Transport named another {@code source=} address than the one our
     * connection reached, with its server ports there.
     */
    private record Moved(RelayPair pair, InetSocketAddress rtp, InetSocketAddress rtcp) {}

    /** by the source= address and server port (RTP and RTCP) */
    private final Map<InetSocketAddress, Moved> moved = new ConcurrentHashMap<>();

    /**
     * A packet reached a track's relay from a source other than the one expected (the connection's
     * address and the server ports). When it comes from the {@code source=} address the upstream
     * named in its SETUP answer, on those server ports — an msm agent sends from the relay its
     * publisher reached, which need not be the address this pull connected to, e.g. another
     * cluster's agent — the track takes its media from there from now on, this packet included.
     * Anything else stays viewer feedback (false). Only addresses the upstream itself named are
     * learned: no stranger can claim a track by sending first.
     */
    boolean onStray(InetSocketAddress from, ByteBuf data, boolean rtcp) {
        Moved m = moved.get(from);
        if (m == null || state == State.CLOSED) {
            return false;
        }
        moved.remove(m.rtp());
        moved.remove(m.rtcp());
        m.pair().rtp().expectSource(m.rtp());
        m.pair().rtcp().expectSource(m.rtcp());
        log.info(
                "{}: upstream {} sends its media from {} (its Transport source=), not from the"
                        + " address connected to: taken from there",
                path.name,
                url,
                from.getAddress().getHostAddress());
        (rtcp ? m.pair().rtcp() : m.pair().rtp()).inject(data);
        return true;
    }

    private void onInterleaved(InterleavedFrame f) {
        Relay r = channels.get(f.channel());
        if (r != null && state != State.CLOSED) {
            r.inject(f.data());
        }
    }

    /**
     * Where a peer agent's media comes from (a relay tree edge, inside the cluster): its
     * Transport's {@code source=} when that is an IP address literal — an msm agent sends from the
     * relay its publisher reached, which may be another of its addresses than the one our RTSP
     * connection reached — else the address our connection reached. Other upstreams keep the
     * connection's address (a {@code source=} behind NAT would name an address their packets do not
     * come from).
     */
    static InetSocketAddress sourceOf(TransportSpec got, InetSocketAddress connected) {
        String src = got.source();
        if (src != null && (src.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") || src.contains(":"))) {
            try {
                return new InetSocketAddress(InetAddress.getByName(src), connected.getPort());
            } catch (UnknownHostException ignored) {
                // not a literal after all: the connection's address
            }
        }
        return connected;
    }

    private static String resolve(String base, String control) {
        if (control == null || control.isEmpty() || control.equals("*")) {
            return base;
        }
        if (control.regionMatches(true, 0, "rtsp://", 0, 7)
                || control.regionMatches(true, 0, "rtsps://", 0, 8)) {
            return control;
        }
        return (base.endsWith("/") ? base : base + "/") + control;
    }

    private String aggregate(SessionDescription sdp, String base) {
        String c = sdp.control();
        return c == null || c.equals("*") ? base : resolve(base, c);
    }

    private CompletableFuture<Void> setup(Track t, MediaDescription m, int tracks, String base) {
        String control = m.control() == null && tracks == 1 ? base : resolve(base, m.control());
        RelayPair pair;
        RtspClient c = client;
        if (standby != null) {
            pair = t.relays();
            if (pair == null) {
                return CompletableFuture.failedFuture(
                        new IOException("the active upstream has no relay for track " + t.index));
            }
        } else {
            try {
                InetSocketAddress from = c.remoteAddress();
                // upstream's packets arrive at the address our TCP connection left from: the relays
                // listen there. Interleaved (TLS): the relays see the media only by injection,
                // their "source" is the connection itself (as for a publisher over TCP)
                InetSocketAddress src = tls ? from : new InetSocketAddress(from.getAddress(), 0);
                pair =
                        t.openRelays(
                                paths.plane(),
                                c.localAddress().getAddress(),
                                src,
                                src,
                                paths.relayIdentities(path.name, from.getAddress()));
            } catch (IOException | RuntimeException e) {
                return CompletableFuture.failedFuture(
                        new IOException(
                                "no relay for upstream track " + t.index + ": " + e.getMessage(),
                                e));
            }
            if (!paths.attach(this, t, pair)) {
                pair.close();
                return CompletableFuture.failedFuture(new IOException("closed"));
            }
            if (path.routed != null && path.routed.standby() != null) {
                // one continuous stream from the first packet: the standby continues it
                t.continuous();
            }
        }
        RtspHeaders h =
                new RtspHeaders()
                        .add(
                                "Transport",
                                tls
                                        ? "RTP/AVP/TCP;unicast;interleaved="
                                                + 2 * t.index
                                                + "-"
                                                + (2 * t.index + 1)
                                        : "RTP/AVP;unicast;client_port="
                                                + pair.rtp().local().getPort()
                                                + "-"
                                                + pair.rtcp().local().getPort());
        if (session != null) {
            h.add("Session", session);
        }
        return c.request("SETUP", control, h)
                .thenAccept(
                        r -> {
                            ok(r, "SETUP " + control);
                            String sess = r.headers().getOrNull("Session");
                            if (sess == null) {
                                throw new CompletionException(
                                        new IOException(
                                                "SETUP "
                                                        + control
                                                        + " answered without a Session"));
                            }
                            int semi = sess.indexOf(';');
                            session = (semi < 0 ? sess : sess.substring(0, semi)).trim();
                            int timeout = 60;
                            int at = sess.indexOf("timeout=");
                            if (at >= 0) {
                                try {
                                    timeout =
                                            Integer.parseInt(
                                                    sess.substring(at + 8)
                                                            .replaceAll("[^0-9].*", ""));
                                } catch (NumberFormatException ignored) {
                                    // keep 60 s (RFC 2326 default)
                                }
                            }
                            sessionTimeout = Math.max(2, timeout);
                            try {
                                TransportSpec got =
                                        TransportSpec.parse(
                                                r.headers().get("Transport").orElse("RTP/AVP"));
                                if (tls) {
                                    if (standby != null) {
                                        throw new IllegalArgumentException(
                                                "a hot standby is pulled over UDP only, not"
                                                        + " rtsps://");
                                    }
                                    if (!got.tcp()) {
                                        throw new IllegalArgumentException(
                                                "asked RTP/AVP/TCP (interleaved, so that media is"
                                                        + " encrypted too), got "
                                                        + r.headers().getOrNull("Transport"));
                                    }
                                    TransportSpec.PortRange ch =
                                            got.interleaved() != null
                                                    ? got.interleaved()
                                                    : new TransportSpec.PortRange(
                                                            2 * t.index, 2 * t.index + 1);
                                    channels.put(ch.first(), pair.rtp());
                                    channels.put(ch.second(), pair.rtcp());
                                    return;
                                }
                                InetSocketAddress from =
                                        path.routed != null && path.routed.viaPeer()
                                                ? sourceOf(got, c.remoteAddress())
                                                : c.remoteAddress();
                                InetSocketAddress advertised = sourceOf(got, c.remoteAddress());
                                if (standby == null
                                        && got.serverPort() != null
                                        && !advertised.getAddress().equals(from.getAddress())) {
                                    // media may come from the source= the upstream names (an
                                    // agent sends from its publisher-side relay): taken from there
                                    // at its first packet on the server ports (see onStray)
                                    Moved mv =
                                            new Moved(
                                                    pair,
                                                    new InetSocketAddress(
                                                            advertised.getAddress(),
                                                            got.serverPort().first()),
                                                    new InetSocketAddress(
                                                            advertised.getAddress(),
                                                            got.serverPort().second()));
                                    moved.put(mv.rtp(), mv);
                                    moved.put(mv.rtcp(), mv);
                                }
                                if (standby != null) {
                                    // the same relays admit the standby's ports; the kernel
                                    // forwards the one that is active
                                    int rtpPort =
                                            got.serverPort() != null ? got.serverPort().first() : 0;
                                    int rtcpPort =
                                            got.serverPort() != null
                                                    ? got.serverPort().second()
                                                    : 0;
                                    t.standby(
                                            new InetSocketAddress(from.getAddress(), rtpPort),
                                            new InetSocketAddress(from.getAddress(), rtcpPort),
                                            standby.silence(),
                                            paths.relayIdentities(path.name, from.getAddress()));
                                } else if (got.serverPort() != null) {
                                    // only the upstream's own ports are upstream: anything else is
                                    // viewer feedback
                                    pair.rtp()
                                            .expectSource(
                                                    new InetSocketAddress(
                                                            from.getAddress(),
                                                            got.serverPort().first()));
                                    pair.rtcp()
                                            .expectSource(
                                                    new InetSocketAddress(
                                                            from.getAddress(),
                                                            got.serverPort().second()));
                                }
                            } catch (IllegalArgumentException e) {
                                throw new CompletionException(
                                        new IOException(
                                                "SETUP "
                                                        + control
                                                        + ": bad Transport: "
                                                        + e.getMessage()));
                            }
                        });
    }

    private volatile int sessionTimeout = 60;

    private CompletableFuture<Stream> play(Stream s) {
        RtspHeaders h = new RtspHeaders().add("Session", session).add("Range", "npt=0.000-");
        return client.request("PLAY", aggregateUrl, h)
                .thenApply(
                        r -> {
                            ok(r, "PLAY");
                            if (standby != null) {
                                paths.standbyPlaying(this);
                            } else {
                                paths.playing(this, s);
                            }
                            long every = Math.max(1, sessionTimeout / 2);
                            keepAlive =
                                    paths.timers()
                                            .scheduleWithFixedDelay(
                                                    this::keepAlive,
                                                    every,
                                                    every,
                                                    TimeUnit.SECONDS);
                            log.info(
                                    "{}: {} {} playing ({} track(s))",
                                    path.name,
                                    standby != null ? "hot-standby upstream" : "upstream",
                                    url,
                                    s.tracks.stream().filter(t -> t.relays() != null).count());
                            ready.complete(s);
                            return s;
                        });
    }

    private void keepAlive() {
        RtspClient c = client;
        if (c == null || state != State.PLAYING) {
            return;
        }
        c.request("OPTIONS", url, new RtspHeaders().add("Session", session))
                .whenComplete(
                        (r, e) -> {
                            if (e != null) {
                                lost("keep-alive failed: " + e.getMessage());
                            }
                        });
    }

    private void fail(Throwable e) {
        Throwable cause =
                e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (ready.completeExceptionally(cause)) {
            if (cause instanceof TlsFailure t) {
                paths.upstreamTlsFailure(t.reason());
            }
            lost(cause.getMessage());
        }
    }

    private void lost(String why) {
        if (state != State.CLOSED) {
            paths.lost(this, why);
        }
    }

    /**
     * Stop: TEARDOWN (without waiting long for the answer), close the connection. Relays close with
     * the stream.
     */
    void close() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        ready.completeExceptionally(new IOException("upstream session closed"));
        ScheduledFuture<?> k = keepAlive;
        if (k != null) {
            k.cancel(false);
        }
        RtspClient c = client;
        if (c != null && c.isOpen() && session != null) {
            c.request(
                            "TEARDOWN",
                            aggregateUrl != null ? aggregateUrl : url,
                            new RtspHeaders().add("Session", session))
                    .orTimeout(2, TimeUnit.SECONDS)
                    .whenComplete((r, e) -> c.close());
        } else if (c != null) {
            c.close();
        }
        Stream s = stream;
        if (s != null) {
            s.closeTracks();
        }
    }
}
