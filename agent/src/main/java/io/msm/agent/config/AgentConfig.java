package io.msm.agent.config;

import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.XdpMode;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.PortTable;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything msm-agent is told, from its YAML file and command line (the command line wins). Built
 * and validated by {@link ConfigLoader}; every rejected value names its field.
 */
public record AgentConfig(
        List<String> interfaces,
        Path bpffs,
        HostPort metricsListen,
        HostPort rtspListen,
        HostPort sipListen,
        boolean userspace,
        String logLevel,
        Xdp xdp,
        Datapath datapath,
        Flows flows,
        Classifier classifier,
        Protection protection,
        Media media,
        List<StaticStream> streams,
        HttpSettings http,
        RtspSettings rtsp,
        SipSettings sip,
        KubernetesSettings kubernetes,
        Upgrade upgrade,
        NgSettings ng,
        GameSettings game) {

    public static final String DEFAULT_BPFFS = "/sys/fs/bpf/msm";
    public static final String DEFAULT_METRICS = "0.0.0.0:9469";
    public static final String DEFAULT_RTSP = "0.0.0.0:8554";
    public static final String DEFAULT_SIP = "0.0.0.0:5060";

    /**
     * Seamless upgrades: the running agent passes its sockets, connections and sessions to its
     * successor over a unix socket.
     *
     * @param handover listen on {@code socket}, and take over from an agent listening there at
     *     start
     * @param socket the handover socket (a host path both agents see)
     * @param timeout how long the old agent waits for the new one to confirm (and the new one for
     *     each answer) before the old one goes on
     */
    public record Upgrade(boolean handover, Path socket, Duration timeout) {
        public static final String DEFAULT_SOCKET = "/var/lib/msm/handover.sock";
    }

    /** The same config with handover on, at {@code socket} (null: the configured path). */
    public AgentConfig withHandover(Path socket) {
        return new AgentConfig(
                interfaces,
                bpffs,
                metricsListen,
                rtspListen,
                sipListen,
                userspace,
                logLevel,
                xdp,
                datapath,
                flows,
                classifier,
                protection,
                media,
                streams,
                http,
                rtsp,
                sip,
                kubernetes,
                new Upgrade(true, socket == null ? upgrade.socket() : socket, upgrade.timeout()),
                ng,
                game);
    }

    /**
     * @param enabled attach the XDP program; @param mode native, generic or auto
     */
    public record Xdp(boolean enabled, XdpMode mode) {}

    /**
     * @param maxFlows flow table entries
     * @param maxGroups fan-out groups
     * @param maxSubscribers subscriber counter slots (all groups)
     * @param tcPriority priority of msm's TC filter (1 = first)
     * @param onLayoutChange what to do when pinned maps have another layout version
     * @param netdevMaxBacklog raise net.core.netdev_max_backlog to at least this (0: leave it)
     * @param orphanGrace how long groups nobody reclaims after a restart keep forwarding
     * @param maxGameServices game services the kernel maps hold (the Maglev array: 64 KB each; 0
     *     saves the 4 MB of the default when the node serves no game traffic)
     */
    public record Datapath(
            int maxFlows,
            int maxGroups,
            int maxSubscribers,
            int tcPriority,
            LayoutChange onLayoutChange,
            int netdevMaxBacklog,
            Duration orphanGrace,
            int maxGameServices) {
        public Datapath(
                int maxFlows,
                int maxGroups,
                int maxSubscribers,
                int tcPriority,
                LayoutChange onLayoutChange,
                int netdevMaxBacklog,
                Duration orphanGrace) {
            this(
                    maxFlows,
                    maxGroups,
                    maxSubscribers,
                    tcPriority,
                    onLayoutChange,
                    netdevMaxBacklog,
                    orphanGrace,
                    DatapathSpec.MAX_GAME_SERVICES);
        }
    }

    public enum LayoutChange {
        /**
         * detach the old programs, drop the old maps, load fresh (state is rebuilt by the control
         * plane)
         */
        REPLACE,
        /** refuse to start and say why */
        REFUSE
    }

    /**
     * @param idleTimeout flows idle this long are removed; @param expiryInterval how often to look
     */
    public record Flows(Duration idleTimeout, Duration expiryInterval) {}

    public record Classifier(
            List<Integer> controlTcpPorts,
            List<Integer> controlUdpPorts,
            List<PortTable.Range> gameUdpPorts,
            boolean raknet,
            Map<Integer, Integer> clockRates) {}

    /**
     * @param newFlowsPerSecond XDP's limit on new UDP/TCP flows per source (an IPv4 address or an
     *     IPv6 /64), 0 = unlimited
     * @param newFlowBurst the bucket's depth, 0 = one second's worth
     */
    public record Protection(List<DenyKey> deny, int newFlowsPerSecond, int newFlowBurst) {
        /**
         * On by default, and far above what a normal source does: a new flow is a 5-tuple not yet
         * in the flow table (a TCP connection, a UDP media stream, a SIP or DNS exchange), so 2,000
         * a second is ~500 SIP calls a second from one media gateway, and the burst lets a source
         * open 20,000 at once (a NAT of a whole office reconnecting) before the rate applies.
         */
        public static final int DEFAULT_NEW_FLOWS_PER_SECOND = 2000;

        public static final int DEFAULT_NEW_FLOW_BURST = 20000;
    }

    /**
     * @param portRange node UDP ports for relays (RTSP publishers, SIP calls)
     */
    public record Media(PortTable.Range portRange) {}

    /**
     * A fan-out defined in the config: packets to {@code listen} go to every subscriber.
     *
     * @param source only packets from this address (port 0: any port) are replicated; null: any
     */
    public record StaticStream(
            String name,
            InetSocketAddress listen,
            InetSocketAddress source,
            List<InetSocketAddress> subscribers) {}
}
