package io.msm.agent;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msm.agent.config.AgentConfig;
import io.msm.agent.datapath.Backlog;
import io.msm.agent.datapath.DatapathOwner;
import io.msm.agent.datapath.FlowExpiry;
import io.msm.agent.datapath.InterfaceWatcher;
import io.msm.agent.datapath.Interfaces;
import io.msm.agent.game.GameControl;
import io.msm.agent.game.GameMetrics;
import io.msm.agent.k8s.KubernetesWatch;
import io.msm.agent.k8s.gateway.GatewayWatch;
import io.msm.agent.media.KernelMediaPlane;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.metrics.DatapathMetrics;
import io.msm.agent.metrics.Heartbeats;
import io.msm.agent.metrics.MediaMetrics;
import io.msm.agent.metrics.MetricsServer;
import io.msm.agent.net.Transport;
import io.msm.agent.ng.NgService;
import io.msm.agent.routing.StreamRoutes;
import io.msm.agent.rtsp.RtspServer;
import io.msm.agent.sip.SipService;
import io.msm.agent.streams.StaticStreams;
import io.msm.agent.upgrade.Handover;
import io.msm.agent.upgrade.HandoverClient;
import io.msm.agent.upgrade.HandoverServer;
import io.msm.bpf.maps.Meta;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * msm-agent: owns the node's datapath (or runs without BPF in userspace mode), the media plane, the
 * control-protocol services and the metrics endpoint. {@link #start} brings everything up and logs
 * what runs where; {@link #close} stops the userspace parts and leaves the kernel datapath
 * forwarding (a restarted agent adopts it).
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    /** Builds the control-protocol services once the media plane exists. */
    public interface ServiceFactory extends Function<Agent, List<Service>> {}

    private final AgentConfig cfg;
    private final PrometheusMeterRegistry registry =
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ScheduledExecutorService timers =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "msm-timers");
                        t.setDaemon(true);
                        return t;
                    });
    private final List<Service> services = new ArrayList<>();

    /** JSON endpoints services add to the metrics listener (path -> document) */
    private final Map<String, Supplier<String>> endpoints = new LinkedHashMap<>();

    private final CountDownLatch stopped = new CountDownLatch(1);
    private DatapathOwner owner;
    private InterfaceWatcher watcher;

    /** A look at the default interface set this often, besides the one each link event triggers. */
    static final Duration INTERFACE_RESCAN = Duration.ofSeconds(10);

    private MediaPlane plane;
    private HandoverServer handover;
    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile boolean handedOver;
    private FlowExpiry expiry;
    private MetricsServer metrics;
    private GameControl game;
    private Heartbeats heartbeats;
    private MediaMetrics mediaMetrics;
    private volatile boolean ready;
    private volatile StreamRoutes streamRoutes = StreamRoutes.NONE;

    public Agent(AgentConfig cfg) {
        this.cfg = cfg;
    }

    public AgentConfig config() {
        return cfg;
    }

    public MediaPlane mediaPlane() {
        return plane;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public DatapathOwner datapathOwner() {
        return owner;
    }

    /** The game services' owner (null: no game service configured, or userspace mode). */
    public GameControl gameControl() {
        return game;
    }

    /** Whether Gateway API game services are on (kubernetes.gateway-api in a cluster). */
    static boolean gatewayApi(AgentConfig cfg) {
        return cfg.kubernetes().gatewayApi() && cfg.kubernetes().active();
    }

    /**
     * The StreamRoute routing table in a cluster (empty out of cluster): the RTSP proxy consults it
     * for paths with no configured source.
     */
    public StreamRoutes streamRoutes() {
        return streamRoutes;
    }

    /**
     * Serve a JSON document on the metrics listener (call before start completes, e.g. from a
     * service factory).
     */
    public void addEndpoint(String path, Supplier<String> json) {
        endpoints.put(path, json);
    }

    public Agent start(ServiceFactory factory) throws Exception {
        HandoverClient takeover = null;
        try {
            startDatapath();
            if (cfg.upgrade().handover()) {
                // before binding anything: the running agent's sockets are adopted, not bound again
                if (Files.exists(cfg.upgrade().socket())) {
                    RtspServer.warmUpHandover();
                }
                takeover = HandoverClient.takeOver(cfg.upgrade().socket(), cfg.upgrade().timeout());
                if (takeover != null && plane instanceof KernelMediaPlane k) {
                    k.readoptOrphans(); // the old agent stopped changing them only now
                }
            }
            for (Service s : factory.apply(this)) {
                s.start();
                services.add(s);
            }
            startMetrics();
            if (takeover != null) {
                takeover.confirm();
                log.info(
                        "took over from the previous agent: {} socket(s), {} connection(s)",
                        takeover.sockets(),
                        takeover.connections());
                takeover = null;
            }
            if (cfg.upgrade().handover()) {
                List<Handover.Participant> parts = new ArrayList<>();
                for (Service s : services) {
                    if (s.handover() != null) {
                        parts.add(s.handover());
                    }
                }
                if (plane instanceof KernelMediaPlane k) {
                    parts.add(k.handover()); // last: the services stopped first
                }
                try {
                    handover =
                            new HandoverServer(
                                    cfg.upgrade().socket(),
                                    cfg.upgrade().timeout(),
                                    parts,
                                    this::handedOver);
                } catch (IOException e) {
                    // serving matters more than the next upgrade being seamless
                    log.warn("{}: the next upgrade will not be seamless", e.getMessage());
                }
            }
        } catch (Exception | Error e) {
            if (takeover != null) {
                // the old agent goes on: leave everything it owns as it is
                log.warn("taking over failed ({}): the running agent goes on", e.toString());
                detach();
                takeover.abort();
            }
            close();
            throw e;
        }
        ready = true;
        logStartup();
        return this;
    }

    private void startDatapath() {
        if (cfg.userspace()) {
            if (cfg.game().any() || gatewayApi(cfg)) {
                log.warn("game services need the BPF datapath: none are served in userspace mode");
            }
            plane =
                    new UserspaceMediaPlane(
                            cfg.media().portRange(),
                            Math.max(1, Runtime.getRuntime().availableProcessors()));
            return;
        }
        List<String> ifaces =
                cfg.interfaces().isEmpty() ? Interfaces.defaultSet() : cfg.interfaces();
        owner = DatapathOwner.start(cfg, ifaces);
        if (cfg.interfaces().isEmpty()) {
            // the default set changes as pods start and stop (their veths): follow it
            watcher = InterfaceWatcher.start(owner, INTERFACE_RESCAN);
        }
        Backlog.ensureAtLeast(cfg.datapath().netdevMaxBacklog());
        KernelMediaPlane k =
                new KernelMediaPlane(
                        owner.datapath(),
                        cfg.datapath().maxGroups(),
                        cfg.datapath().maxSubscribers(),
                        cfg.media().portRange(),
                        cfg.datapath().orphanGrace(),
                        1);
        plane = k;
        expiry = new FlowExpiry(owner.datapath(), cfg.flows().idleTimeout(), k::onFlowScan);
        long every = cfg.flows().expiryInterval().toMillis();
        timers.scheduleWithFixedDelay(expiry, every, every, TimeUnit.MILLISECONDS);
        startGame();
    }

    /** Game services: the config's now, the Gateway API's once its watcher has them. */
    private void startGame() {
        Set<String> sources = new HashSet<>();
        if (cfg.game().any()) {
            sources.add(GameControl.STATIC);
        }
        if (gatewayApi(cfg)) {
            sources.add(GameControl.GATEWAY);
        }
        if (sources.isEmpty()) {
            return;
        }
        DatapathOwner o = owner;
        game =
                new GameControl(
                        o.datapath(),
                        cfg.game(),
                        sources,
                        () ->
                                GameControl.interfaceAddresses(
                                        o.attached().stream()
                                                .map(DatapathOwner.Attached::ifname)
                                                .toList()));
        if (cfg.game().any()) {
            game.applyStatic();
        }
        game.schedule(timers);
    }

    private List<Relay> relays() {
        if (plane instanceof KernelMediaPlane k) {
            return k.relays();
        }
        if (plane instanceof UserspaceMediaPlane u) {
            return u.relays();
        }
        return List.of();
    }

    private void startMetrics() throws Exception {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        DatapathMetrics dm = null;
        if (owner != null) {
            dm = new DatapathMetrics(owner.datapath(), expiry);
            dm.bindTo(registry);
        }
        if (owner != null) {
            DatapathOwner o = owner;
            Gauge.builder("msm.datapath.interfaces", o, x -> x.attached().size())
                    .description(
                            "interfaces msm's TC program is attached to (followed as links come and go when the"
                                    + " config names none)")
                    .register(registry);
        }
        if (watcher != null) {
            InterfaceWatcher w = watcher;
            FunctionCounter.builder("msm.datapath.interface.changes", w, InterfaceWatcher::changes)
                    .description(
                            "times the followed interface set changed (pods' veths came or went)")
                    .register(registry);
        }
        DatapathMetrics kernel = dm;
        GameMetrics gameMetrics = game == null ? null : GameMetrics.of(registry, game);
        Gauge.builder("msm.agent.info", () -> 1)
                .description("agent build and mode")
                .tags(
                        "version",
                        Version.get(),
                        "mode",
                        plane.mode(),
                        "layout",
                        Integer.toString(Meta.LAYOUT_VERSION),
                        "start",
                        owner == null ? "userspace" : owner.how().name().toLowerCase(Locale.ROOT))
                .register(registry);
        mediaMetrics = new MediaMetrics(registry, this::relays);
        heartbeats = new Heartbeats(cfg.http().stallTimeout());
        for (Service s : services) {
            s.loops().forEach(heartbeats::watch);
        }
        metrics =
                new MetricsServer(
                        cfg.metricsListen().socketAddress(),
                        cfg.http(),
                        registry,
                        () -> {
                            if (kernel != null) {
                                kernel.refresh();
                            }
                            if (gameMetrics != null) {
                                gameMetrics.refresh();
                            }
                            mediaMetrics.sync();
                        },
                        () -> stopped.getCount() > 0,
                        () -> ready,
                        this::servicesNotReady,
                        heartbeats,
                        Map.copyOf(endpoints));
    }

    /**
     * The services that are not ready yet, by name with their own word on why (e.g. Kubernetes
     * informers that cannot list their resources): /readyz fails while any is.
     */
    private List<String> servicesNotReady() {
        List<String> waiting = new ArrayList<>();
        for (Service s : services) {
            if (!s.ready()) {
                waiting.add(
                        s instanceof KubernetesWatch k
                                ? k.waitingFor().orElse(s.name())
                                : s.name());
            }
        }
        return waiting;
    }

    private void logStartup() {
        StringBuilder sb =
                new StringBuilder("msm-agent ")
                        .append(Version.get())
                        .append(" started: mode=")
                        .append(plane.mode())
                        .append(" transport=")
                        .append(Transport.name());
        if (owner != null) {
            sb.append(" datapath=")
                    .append(owner.how().name().toLowerCase(Locale.ROOT))
                    .append(" (layout v")
                    .append(Meta.LAYOUT_VERSION)
                    .append(", pinned at ")
                    .append(cfg.bpffs())
                    .append(')');
            if (watcher != null) {
                sb.append(
                        "\n  interfaces: every one that is up and not loopback, followed as links come and go");
            }
            for (DatapathOwner.Attached a : owner.attached()) {
                sb.append("\n  ")
                        .append(a.ifname())
                        .append(" (ifindex ")
                        .append(a.ifindex())
                        .append("): tc ingress prog ")
                        .append(a.tcProgId())
                        .append(
                                a.xdpProgId() != 0
                                        ? ", xdp " + a.xdpMode() + " prog " + a.xdpProgId()
                                        : ", xdp off");
            }
        }
        sb.append("\n  metrics: http://").append(cfg.metricsListen()).append("/metrics");
        for (Service s : services) {
            sb.append("\n  ").append(s.describe());
        }
        log.info(sb.toString());
    }

    /** Nothing this agent closes from now on changes what the kernel or another agent owns. */
    private void detach() {
        if (plane instanceof KernelMediaPlane k) {
            k.detach();
        }
        for (Service s : services) {
            if (s.handover() != null) {
                s.handover().release();
            }
        }
    }

    /** A new agent took over: stop (the handover server's thread must not wait for it). */
    private void handedOver() {
        handedOver = true;
        detach();
        new Thread(this::close, "msm-handed-over").start();
    }

    /** Whether it stopped because a new agent took over. */
    public boolean wasHandedOver() {
        return handedOver;
    }

    /** Block until {@link #close} (from a signal handler). */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        ready = false;
        if (handover != null) {
            handover.close();
        }
        for (int i = services.size() - 1; i >= 0; i--) {
            try {
                services.get(i).close();
            } catch (RuntimeException e) {
                log.warn("stopping {}: {}", services.get(i).name(), e.getMessage());
            }
        }
        if (metrics != null) {
            metrics.close();
        }
        if (heartbeats != null) {
            heartbeats.close();
        }
        timers.shutdownNow();
        if (plane != null) {
            plane.close();
        }
        if (watcher != null) {
            watcher.close();
        }
        if (game != null) {
            game.close(); // game services keep forwarding, as flows and fan-out groups do
        }
        if (owner != null) {
            owner.close(); // programs stay attached, maps stay pinned
        }
        stopped.countDown();
    }

    /** Standard services from the config. */
    public static List<Service> defaultServices(Agent a) {
        List<Service> s = new ArrayList<>();
        s.add(new StaticStreams(a.config().streams(), a.mediaPlane()));
        KubernetesWatch k = null;
        if (a.config().kubernetes().active()) {
            // pod addresses' workload identities go to the media plane (the kernel's identity map)
            k =
                    KubernetesWatch.forAgent(
                            a.config(),
                            a.owner == null ? null : a.owner.datapath(),
                            a.registry(),
                            a.mediaPlane().identitySink());
            a.mediaPlane().identityLookup(k.identities());
            a.streamRoutes = k.routes();
        } else if (!a.config().sip().security().trustedIdentities().isEmpty()) {
            log.warn(
                    "sip.trusted-identities is set but kubernetes is off: no caller has a workload"
                            + " identity, only sip.trusted applies");
        }
        RtspServer rtsp =
                new RtspServer(
                                a.config().rtspListen(),
                                a.config().rtsp(),
                                // RTSP's relays count in its share: SIP cannot starve it, nor it
                                // SIP
                                a.mediaPlane().admission("rtsp").plane(a.mediaPlane()),
                                a.registry())
                        .withRoutes(a::streamRoutes);
        if (k != null) {
            rtsp.withAccess(k.policies());
        }
        s.add(rtsp);
        // relay tree edges for msm status (path names: served like /calls, to private clients)
        a.addEndpoint("/tree", rtsp::treeJson);
        if (k != null) {
            s.add(k);
            if (a.config().kubernetes().gatewayApi()) {
                if (a.game != null) {
                    s.add(GatewayWatch.forAgent(k, a.game, a.registry()));
                } else {
                    log.warn(
                            "kubernetes.gateway-api is on but there is no BPF datapath: UDPRoutes"
                                    + " are not served on this node");
                }
            }
        }
        SipService sip =
                new SipService(
                        a.config().sip(),
                        a.config().sipListen().socketAddress(),
                        a.mediaPlane(),
                        a.registry());
        if (k != null) {
            sip.withIdentities(k.identities());
        }
        s.add(sip);
        if (a.config().ng().enabled()) {
            // Kamailio/OpenSIPS drive the same media plane over rtpengine's NG protocol
            NgService ng = new NgService(a.config().ng(), a.mediaPlane(), a.registry());
            s.add(ng);
            a.addEndpoint("/calls", NgService.merged(sip::callsJson, ng));
        } else {
            a.addEndpoint("/calls", sip::callsJson);
        }
        return s;
    }
}
