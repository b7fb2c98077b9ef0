package io.msm.agent.media;

import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.rtp.RtpReceiverStats;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/** One relay of the userspace plane. */
final class UserspaceRelay extends AbstractRelay {
    private static final int[] CLOCK = DatapathConfig.defaultClockRates();

    private final UserspaceMediaPlane plane;
    private final List<Sub> subs = new CopyOnWriteArrayList<>();
    private final AtomicLong upPackets = new AtomicLong();
    private final AtomicLong upBytes = new AtomicLong();
    private final AtomicLong copies = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong identityUnknown = new AtomicLong();
    private final AtomicLong identityDenied = new AtomicLong();
    private RtpReceiverStats rtp; // event-loop confined
    private long firstNs;
    private volatile RtpStreamStats rtpSnapshot;
    private volatile RtpContinuity continuity;

    UserspaceRelay(UserspaceMediaPlane plane, RelayOptions options) {
        super(options);
        this.plane = plane;
    }

    @Override
    public void onDatagram(DatagramPacket p) {
        ByteBuf content = p.content();
        InetSocketAddress from = p.sender();
        RelayOptions o = options;
        RtpContinuity c = continuity;
        if (!matches(o.expectedSource(), from) && (c == null || !c.fromStandby(from))) {
            if (o.others() == RelayOptions.Others.DROP) {
                dropped.incrementAndGet();
            } else {
                PacketListener l = tap;
                if (l != null) {
                    l.onPacket(from, content, false);
                }
            }
            return;
        }
        // the kernel plane's rule (after the source, by who sent it): counted, then dropped or
        // handed to the tap as another source's
        int why = identityRefusal(o.allowedIdentities(), plane.identityOf(from));
        if (why != ADMITTED) {
            (why == UNKNOWN ? identityUnknown : identityDenied).incrementAndGet();
            PacketListener l = tap;
            if (l != null && o.others() == RelayOptions.Others.DELIVER_LOCAL) {
                l.onPacket(from, content, false);
            }
            return;
        }
        upstream(from, content);
    }

    @Override
    public void inject(ByteBuf data) {
        ByteBuf copy = data.retainedDuplicate();
        InetSocketAddress from =
                options.expectedSource() != null ? options.expectedSource() : local();
        // on the relay's event loop: the RTP statistics are confined to it
        socket.channel
                .eventLoop()
                .execute(
                        () -> {
                            try {
                                upstream(from, copy);
                                onReadComplete(); // flush the copies, refresh the RTP statistics
                            } finally {
                                copy.release();
                            }
                        });
    }

    private void upstream(InetSocketAddress from, ByteBuf content) {
        RtpContinuity c = continuity;
        if (c != null && !continuous(c, from, content)) {
            dropped.incrementAndGet();
            return;
        }
        upPackets.incrementAndGet();
        upBytes.addAndGet(content.readableBytes());
        if (RtpPackets.isRtp(content)) {
            long now = System.nanoTime();
            if (rtp == null) {
                rtp = new RtpReceiverStats(pt -> CLOCK[pt]);
                firstNs = now;
            }
            rtp.onPacket(
                    RtpPackets.ssrc(content),
                    RtpPackets.seq(content),
                    RtpPackets.timestamp(content),
                    RtpPackets.payloadType(content),
                    now - firstNs);
        }
        for (Sub s : subs) {
            if (!socket.writeCopy(s.channel(), content, s.viewer)) {
                errors.incrementAndGet(); // real-time: drop rather than queue
                continue;
            }
            s.packets.incrementAndGet();
            s.bytes.addAndGet(content.readableBytes());
            copies.incrementAndGet();
        }
        PacketListener l = tap;
        if (l != null && tapUpstream) {
            l.onPacket(from, content, true);
        }
    }

    /** Rewritten once, before the copies and the tap (so interleaved viewers see it too). */
    private boolean continuous(RtpContinuity c, InetSocketAddress from, ByteBuf content) {
        if (c.config.rtpRelay() == null) {
            return c.rtp(content, c.fromStandby(from), System.nanoTime());
        }
        UserspaceRelay rtp = plane.byLocal.get(c.config.rtpRelay());
        return c.rtcp(content, rtp == null ? null : rtp.continuity);
    }

    @Override
    public void continuity(RtpContinuity.Config config) {
        RtpContinuity was = continuity;
        // a standby joining or leaving keeps the stream's state
        continuity =
                config == null ? null : was == null ? new RtpContinuity(config) : was.with(config);
    }

    @Override
    public void resync() {
        RtpContinuity c = continuity;
        if (c != null) {
            c.resync();
        }
    }

    @Override
    public Optional<RtpContinuity.Snapshot> continuityState() {
        RtpContinuity c = continuity;
        return c == null ? Optional.empty() : Optional.of(c.snapshot());
    }

    @Override
    public void onReadComplete() {
        socket.channel.flush();
        RtpReceiverStats r = rtp;
        if (r != null) {
            rtpSnapshot =
                    new RtpStreamStats(
                            r.ssrc(), r.extendedHighestSeq(), r.lost(), r.jitterMs(), r.received());
        }
    }

    @Override
    public Subscriber subscribe(InetSocketAddress viewer, InetSocketAddress source) {
        Sub s = new Sub(viewer, source == null ? local() : source);
        subs.add(s);
        return s;
    }

    @Override
    public List<Subscriber> subscribers() {
        return List.copyOf(subs);
    }

    @Override
    public RelayStats stats() {
        return new RelayStats(
                upPackets.get(),
                upBytes.get(),
                copies.get(),
                errors.get(),
                dropped.get(),
                identityUnknown.get(),
                identityDenied.get());
    }

    @Override
    public Optional<RtpStreamStats> rtpStats() {
        return Optional.ofNullable(rtpSnapshot);
    }

    @Override
    public void close() {
        subs.clear();
        plane.closed(this);
        socket.close();
    }

    private final class Sub implements Subscriber {
        final InetSocketAddress viewer;
        final InetSocketAddress source;
        final AtomicLong packets = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();

        Sub(InetSocketAddress viewer, InetSocketAddress source) {
            this.viewer = viewer;
            this.source = source;
        }

        /**
         * The channel the copies leave from: ours, or the partner relay's for two-way anchoring.
         */
        Channel channel() {
            if (source.equals(local())) {
                return socket.channel;
            }
            UserspaceRelay partner = plane.byLocal.get(source);
            return partner == null ? null : partner.socket.channel;
        }

        @Override
        public InetSocketAddress viewer() {
            return viewer;
        }

        @Override
        public InetSocketAddress source() {
            return source;
        }

        @Override
        public long packets() {
            return packets.get();
        }

        @Override
        public long bytes() {
            return bytes.get();
        }

        @Override
        public CompletionStage<Void> ready() {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public String servedBy() {
            return "userspace";
        }

        @Override
        public void close() {
            subs.remove(this);
        }
    }
}
