package io.msm.agent.k8s;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.config.AgentConfig;
import io.msm.agent.config.ConfigException;
import io.msm.agent.config.KubernetesSettings;
import io.msm.agent.identity.IdentitySink;
import io.msm.agent.identity.PodIdentities;
import io.msm.agent.identity.StreamPolicies;
import io.msm.agent.intercept.CgroupV2;
import io.msm.agent.intercept.Interception;
import io.msm.agent.intercept.PodInterceptor;
import io.msm.agent.intercept.PodRef;
import io.msm.agent.k8s.crd.StreamPolicy;
import io.msm.agent.k8s.crd.StreamRoute;
import io.msm.agent.k8s.crd.StreamRouteStatus;
import io.msm.agent.k8s.policy.PolicyCompiler;
import io.msm.agent.k8s.policy.PolicyStatus;
import io.msm.agent.k8s.probe.RtspProbe;
import io.msm.agent.k8s.route.Route;
import io.msm.agent.k8s.route.RouteCompiler;
import io.msm.agent.k8s.route.RouteStatus;
import io.msm.agent.k8s.route.RouteTable;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.TrafficClass;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * msm-agent in a cluster: informers (no polling) on
 *
 * <ul>
 *   <li>the pods of this node ({@code spec.nodeName} field selector) — which to intercept, and the
 *       node's address as pods reach it;
 *   <li>namespaces (only with interception: the namespace-wide opt-in);
 *   <li>Services and EndpointSlices — Service backends' endpoints;
 *   <li>StreamRoutes — the routing table;
 *   <li>the agents' own pods — who writes StreamRoute status;
 *   <li>every pod of the cluster — the workload identity of each pod address ({@link
 *       PodIdentities}), written to the media plane's identity sink;
 *   <li>StreamPolicies — who may publish and watch which paths ({@link StreamPolicies}).
 * </ul>
 *
 * Every event schedules one rebuild on the watcher's thread (events that arrive meanwhile are
 * folded into it). A probe round every probe-interval sends OPTIONS/DESCRIBE to every target and
 * reads RTP idle times from the kernel's flow table; failed targets leave the table until they
 * recover. Status (Accepted, BackendsReady, Ready, per-backend readiness) is written through the
 * status subresource, by the elected agent only, and only when it changed.
 */
public final class KubernetesWatch implements io.msm.agent.Service {
    private static final Logger log = LoggerFactory.getLogger(KubernetesWatch.class);

    private final KubernetesClient client;
    private final boolean ownsClient;
    private final KubernetesSettings cfg;
    private final String node;
    private final RouteTable table;
    private final RouteCompiler compiler;
    private final PodInterceptor interceptor; // null: no interception
    private final InterceptPolicy policy;
    private final Supplier<Collection<RouteTable.RtpFlow>> rtpFlows;
    private final ScheduledExecutorService loop;
    private final ExecutorService probes;
    private final AtomicBoolean rebuildPending = new AtomicBoolean();
    private final AtomicBoolean routesDirty = new AtomicBoolean();
    private final AtomicBoolean podsDirty = new AtomicBoolean();
    private final AtomicInteger statusWrites = new AtomicInteger();
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private SharedIndexInformer<Pod> nodePods;
    private SharedIndexInformer<Namespace> namespaces;
    private SharedIndexInformer<Service> services;
    private SharedIndexInformer<EndpointSlice> slices;
    private SharedIndexInformer<StreamRoute> routes;
    private SharedIndexInformer<Pod> agentPods;
    private SharedIndexInformer<Pod> allPods;
    private SharedIndexInformer<StreamPolicy> streamPolicies;
    private final PodIdentities identities;
    private final StreamPolicies policies;
    private final AtomicBoolean policiesDirty = new AtomicBoolean();
    private volatile List<PolicyCompiler.Compiled> compiledPolicies = List.of();
    private EndpointSliceIndex endpoints;
    private volatile AgentPeers peers;
    private volatile RelayTree tree;
    private volatile int rtspPort = 8554;
    private volatile boolean synced;
    private volatile boolean closed;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private boolean ownsClientAnyway; // a client built from kubernetes.kubeconfig

    /**
     * @param client API client (null: built from the environment — in-cluster service account or
     *     kubeconfig)
     * @param node this node's name
     * @param interceptor pods to intercept go here (null: interception off)
     * @param rtpFlows RTP flows of the kernel's flow table (empty outside BPF mode)
     * @param random spreads sessions over backends (seed it in tests)
     */
    public KubernetesWatch(
            KubernetesClient client,
            KubernetesSettings cfg,
            String node,
            PodInterceptor interceptor,
            Supplier<Collection<RouteTable.RtpFlow>> rtpFlows,
            RandomGenerator random) {
        this(client, cfg, node, interceptor, rtpFlows, random, IdentitySink.NONE);
    }

    /**
     * @param sink where pod addresses' workload identities are written (the media plane's)
     */
    public KubernetesWatch(
            KubernetesClient client,
            KubernetesSettings cfg,
            String node,
            PodInterceptor interceptor,
            Supplier<Collection<RouteTable.RtpFlow>> rtpFlows,
            RandomGenerator random,
            IdentitySink sink) {
        this.identities = new PodIdentities(sink, cfg.trustDomain());
        this.policies = new StreamPolicies(identities);
        this.ownsClient = client == null;
        this.client = client != null ? client : new KubernetesClientBuilder().build();
        this.cfg = cfg;
        this.node = node;
        this.table = new RouteTable(random, System::nanoTime);
        this.compiler = new RouteCompiler(cfg.describeTimeout(), cfg.rtpTimeout());
        this.interceptor = interceptor;
        this.policy = new InterceptPolicy(cfg.intercept().label());
        this.rtpFlows = rtpFlows;
        this.loop =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "msm-k8s");
                            t.setDaemon(true);
                            return t;
                        });
        AtomicInteger n = new AtomicInteger();
        this.probes =
                Executors.newFixedThreadPool(
                        4,
                        r -> {
                            Thread t = new Thread(r, "msm-probe-" + n.incrementAndGet());
                            t.setDaemon(true);
                            return t;
                        });
    }

    /** The node name from the settings or $K8S_NODE_NAME, or an error that says how to set it. */
    public static String nodeName(KubernetesSettings cfg) {
        return cfg.nodeName()
                .or(
                        () ->
                                Optional.ofNullable(System.getenv("K8S_NODE_NAME"))
                                        .filter(s -> !s.isBlank()))
                .orElseThrow(
                        () ->
                                new ConfigException(
                                        "kubernetes.node-name",
                                        "unknown: set K8S_NODE_NAME (the chart sets it from spec.nodeName) or kubernetes.node-name"));
    }

    /** The routing table for the RTSP proxy. */
    public StreamRoutes routes() {
        return routesView;
    }

    /** The relay tree once started with kubernetes.relay-tree, else the route table itself. */
    private StreamRoutes current() {
        RelayTree t = tree;
        return t != null ? t : table;
    }

    /** What the proxy holds: stable across start(), which may create the relay tree. */
    private final StreamRoutes routesView =
            new StreamRoutes() {
                @Override
                public Optional<Backend> choose(String host, String path) {
                    return current().choose(host, path);
                }

                @Override
                public Optional<Backend> choose(String host, String path, boolean fromPeer) {
                    return current().choose(host, path, fromPeer);
                }

                @Override
                public void report(Backend backend, Failure failure) {
                    current().report(backend, failure);
                }

                @Override
                public void published(Set<String> paths) {
                    current().published(paths);
                }
            };

    /** Relay trees across nodes ({@code kubernetes.relay-tree}); null when off or not started. */
    RelayTree tree() {
        return tree;
    }

    /** The RTSP port this agent's peers pull from (its rtsp-listen port). */
    void rtspPort(int port) {
        this.rtspPort = port;
    }

    RouteTable table() {
        return table;
    }

    /** Pod addresses → workload identities (the lookup the media plane and SIP ask). */
    public PodIdentities identities() {
        return identities;
    }

    /** Who may publish and watch which paths (what RTSP asks). */
    public StreamPolicies policies() {
        return policies;
    }

    int statusWrites() {
        return statusWrites.get();
    }

    /** The API client (shared with the Gateway API watcher). */
    public KubernetesClient client() {
        return client;
    }

    /**
     * Whether this agent writes status now (kubernetes.status: always, or elect and it is the
     * elected agent); the Gateway API watcher follows the same rule.
     */
    public boolean writesStatus() {
        return switch (cfg.status()) {
            case ALWAYS -> true;
            case NEVER -> false;
            case ELECT -> peers == null || peers.isWriter();
        };
    }

    /** This agent's node name. */
    public String node() {
        return node;
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    @Override
    public void start() {
        ResourceEventHandler<HasMetadata> onRoutes = handler(routesDirty);
        ResourceEventHandler<HasMetadata> onPods = handler(podsDirty);
        long resync =
                0; // events only: the informers' caches are the truth, no periodic replay needed
        nodePods =
                client.pods()
                        .inAnyNamespace()
                        .withField("spec.nodeName", node)
                        .runnableInformer(resync);
        services = client.services().inAnyNamespace().runnableInformer(resync);
        slices = client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(resync);
        slices.addIndexers(Map.of(EndpointSliceIndex.BY_SERVICE, EndpointSliceIndex::byService));
        routes = client.resources(StreamRoute.class).inAnyNamespace().runnableInformer(resync);
        allPods = client.pods().inAnyNamespace().runnableInformer(resync);
        streamPolicies =
                client.resources(StreamPolicy.class).inAnyNamespace().runnableInformer(resync);
        informers.addAll(List.of(nodePods, services, slices, routes, allPods, streamPolicies));
        if (interceptor != null) {
            namespaces = client.namespaces().runnableInformer(resync);
            informers.add(namespaces);
        }
        if (cfg.status() == KubernetesSettings.StatusWriter.ELECT || cfg.relayTree()) {
            String ns = cfg.agentNamespace().orElseGet(client::getNamespace);
            if (ns == null) {
                log.warn(
                        "kubernetes.status: elect needs the agents' namespace (kubernetes.agent-namespace, or the "
                                + "service account's): this agent will write status as if it were elected");
                peers = new AgentPeers(node, List::of);
            } else {
                agentPods =
                        client.pods()
                                .inNamespace(ns)
                                .withLabelSelector(cfg.agentSelector())
                                .runnableInformer(resync);
                informers.add(agentPods);
                SharedIndexInformer<Pod> ap = agentPods;
                peers = new AgentPeers(node, () -> ap.getStore().list());
                if (cfg.relayTree()) {
                    SharedIndexInformer<EndpointSlice> sl = slices;
                    tree =
                            new RelayTree(
                                    node,
                                    () -> ap.getStore().list(),
                                    () -> sl.getStore().list(),
                                    table,
                                    rtspPort,
                                    (pod, ann) -> loop.execute(() -> annotate(pod, ann)),
                                    System::nanoTime);
                }
            }
            if (cfg.status() != KubernetesSettings.StatusWriter.ELECT) {
                peers = null;
            }
        }
        endpoints = new EndpointSliceIndex(services.getIndexer(), slices.getIndexer());
        List<CompletableFuture<Void>> started = new ArrayList<>();
        for (SharedIndexInformer<?> i : informers) {
            @SuppressWarnings("unchecked")
            SharedIndexInformer<HasMetadata> h = (SharedIndexInformer<HasMetadata>) i;
            // pod and namespace events change interception; the others the routing table
            // (and the agents' pods the status writer, which every rebuild asks anew)
            if (i == allPods) {
                allPods.addEventHandler(identityHandler());
                // the first full listing in (its events may still be on their way: the store is
                // the truth), what a previous agent left in the sink goes
                started.add(
                        allPods.start()
                                .toCompletableFuture()
                                .thenRun(
                                        () -> {
                                            allPods.getStore().list().forEach(identities::upsert);
                                            identities.synced();
                                        }));
                continue;
            }
            h.addEventHandler(
                    i == nodePods || i == namespaces
                            ? onPods
                            : i == agentPods
                                    ? handler(new AtomicBoolean())
                                    : i == streamPolicies ? handler(policiesDirty) : onRoutes);
            started.add(h.start().toCompletableFuture());
        }
        CompletableFuture.allOf(started.toArray(CompletableFuture[]::new))
                .whenComplete(
                        (v, e) -> {
                            if (e != null) {
                                log.warn(
                                        "kubernetes: an informer could not list its resources ({}); it keeps retrying. Is the "
                                                + "StreamRoute CRD installed (kubectl get crd streamroutes.msm.io) and the RBAC of the chart "
                                                + "in place?",
                                        rootMessage(e));
                                return;
                            }
                            synced = true;
                            routesDirty.set(true);
                            podsDirty.set(true);
                            policiesDirty.set(true);
                            log.info(
                                    "kubernetes: watching node {}'s pods, services, endpointslices and streamroutes",
                                    node);
                            changed();
                        });
        long every = cfg.probeInterval().toMillis();
        loop.scheduleWithFixedDelay(this::probeRound, every, every, TimeUnit.MILLISECONDS);
    }

    /** Writes the relay tree's annotations on this agent's pod (a JSON merge patch). */
    private void annotate(Pod pod, Map<String, String> annotations) {
        try {
            client.pods()
                    .inNamespace(pod.getMetadata().getNamespace())
                    .withName(pod.getMetadata().getName())
                    .edit(
                            p -> {
                                Map<String, String> a =
                                        p.getMetadata().getAnnotations() == null
                                                ? new HashMap<>()
                                                : new HashMap<>(p.getMetadata().getAnnotations());
                                a.putAll(annotations);
                                p.getMetadata().setAnnotations(a);
                                return p;
                            });
        } catch (RuntimeException e) {
            log.warn(
                    "kubernetes: cannot write the published paths on pod {}/{} ({}); other nodes' agents will not find them. Does the chart's Role allow patching the agents' pods?",
                    pod.getMetadata().getNamespace(),
                    pod.getMetadata().getName(),
                    rootMessage(e));
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable c = e;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return c.getMessage();
    }

    /** Every pod of the cluster goes to the identity directory as its events arrive. */
    private ResourceEventHandler<Pod> identityHandler() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(Pod p) {
                identities.upsert(p);
            }

            @Override
            public void onUpdate(Pod oldPod, Pod p) {
                identities.upsert(p);
            }

            @Override
            public void onDelete(Pod p, boolean deletedFinalStateUnknown) {
                identities.delete(p);
            }
        };
    }

    private ResourceEventHandler<HasMetadata> handler(AtomicBoolean dirty) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(HasMetadata obj) {
                dirty.set(true);
                changed();
            }

            @Override
            public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
                dirty.set(true);
                changed();
            }

            @Override
            public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
                dirty.set(true);
                changed();
            }
        };
    }

    /** An informer event: one rebuild for however many events arrive before it runs. */
    private void changed() {
        if (!closed && rebuildPending.compareAndSet(false, true)) {
            loop.execute(
                    () -> {
                        rebuildPending.set(false);
                        rebuild();
                    });
        }
    }

    private void rebuild() {
        if (!synced) {
            // the initial lists arrive informer by informer: acting on half of them would detach
            // pods
            // opted in by a namespace not listed yet, or write ServiceNotFound for a Service still
            // coming
            return;
        }
        try {
            if (podsDirty.getAndSet(false)) {
                reconcileInterception();
            }
            if (policiesDirty.getAndSet(false)) {
                compilePolicies();
            }
            if (!routesDirty.getAndSet(false)) {
                writeStatus(); // the agents' pods may have changed who writes
                return;
            }
            List<Route> compiled = new ArrayList<>();
            for (StreamRoute sr : routes.getStore().list()) {
                compiled.add(compiler.compile(sr));
            }
            table.update(compiled, endpoints);
            if (table.probeJobs().stream()
                    .anyMatch(
                            j ->
                                    table.health(j.target())
                                            .map(h -> h.state() == RouteTable.State.NEW)
                                            .orElse(false))) {
                probeTargets(); // new targets: probe now, not a whole interval later
            }
            writeStatus();
        } catch (RuntimeException e) {
            log.warn("kubernetes: rebuilding the routing table failed: {}", e.toString(), e);
        }
    }

    private void compilePolicies() {
        compiledPolicies = PolicyCompiler.compileAll(streamPolicies.getStore().list());
        policies.update(
                compiledPolicies.stream()
                        .map(PolicyCompiler.Compiled::policy)
                        .filter(Objects::nonNull)
                        .toList());
    }

    private void reconcileInterception() {
        if (interceptor == null) {
            return;
        }
        List<PodRef> want = new ArrayList<>();
        Inet4Address hostIp = null;
        for (Pod p : nodePods.getStore().list()) {
            if (p.getStatus() != null && p.getStatus().getHostIP() != null && hostIp == null) {
                try {
                    InetAddress a = InetAddress.getByName(p.getStatus().getHostIP());
                    if (a instanceof Inet4Address v4) {
                        hostIp = v4;
                    }
                } catch (UnknownHostException ignored) {
                    // not a literal: skip
                }
            }
            Namespace ns =
                    namespaces == null
                            ? null
                            : namespaces.getStore().getByKey(p.getMetadata().getNamespace());
            if (p.getMetadata().getUid() != null && policy.wants(p, ns)) {
                want.add(
                        new PodRef(
                                p.getMetadata().getUid(),
                                p.getMetadata().getNamespace(),
                                p.getMetadata().getName(),
                                p.getStatus() == null ? null : p.getStatus().getQosClass()));
            }
        }
        if (hostIp != null && cfg.intercept().proxyAddress().isEmpty()) {
            interceptor.proxyAddress(hostIp);
        }
        try {
            interceptor.reconcile(want);
        } catch (RuntimeException e) {
            log.warn("interception: {}", e.getMessage());
        }
    }

    private void probeRound() {
        try {
            if (!synced) {
                return;
            }
            RelayTree t = tree;
            if (t != null) {
                t.republish();
            }
            probeTargets();
            Collection<RouteTable.RtpFlow> flows = rtpFlows.get();
            if (!flows.isEmpty()) {
                table.checkRtp(flows, System.nanoTime());
            }
            if (interceptor != null && !interceptor.pending().isEmpty()) {
                reconcileInterception(); // cgroups that did not exist at the pod's event
            }
            writeStatus();
        } catch (RuntimeException e) {
            log.warn("kubernetes: probe round failed: {}", e.toString());
        }
    }

    /** Probe every target in parallel (bounded pool), apply the results. */
    private void probeTargets() {
        List<RouteTable.ProbeJob> jobs = table.probeJobs();
        Map<RouteTable.ProbeJob, Future<Optional<Failure>>> running = new LinkedHashMap<>();
        long longest = 0;
        for (RouteTable.ProbeJob j : jobs) {
            running.put(
                    j,
                    probes.submit(
                            () ->
                                    RtspProbe.probe(
                                            j.host(),
                                            j.port(),
                                            j.describe(),
                                            j.timeout(),
                                            j.tls())));
            longest = Math.max(longest, j.timeout().toMillis());
        }
        long end =
                System.nanoTime()
                        + (longest * 2 + 1000) * 1_000_000; // connect + requests, then give up
        for (Map.Entry<RouteTable.ProbeJob, Future<Optional<Failure>>> e : running.entrySet()) {
            try {
                long left = Math.max(1, (end - System.nanoTime()) / 1_000_000);
                Optional<Failure> f = e.getValue().get(left, TimeUnit.MILLISECONDS);
                if (f.isPresent()) {
                    table.markDown(e.getKey().target(), f.get());
                } else {
                    table.markUp(e.getKey().target());
                }
            } catch (TimeoutException ex) {
                e.getValue().cancel(true);
                table.markDown(
                        e.getKey().target(),
                        Failure.of(Failure.Kind.DESCRIBE_FAILED, "probe did not finish"));
            } catch (ExecutionException ex) {
                table.markDown(
                        e.getKey().target(),
                        Failure.of(Failure.Kind.DESCRIBE_FAILED, ex.getCause().toString()));
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Write each route's status if this agent is the writer and the status changed. */
    private void writeStatus() {
        if (cfg.status() == KubernetesSettings.StatusWriter.NEVER
                || (cfg.status() == KubernetesSettings.StatusWriter.ELECT && !peers.isWriter())) {
            return;
        }
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        statusWrites.addAndGet(
                PolicyStatus.write(
                        client, streamPolicies.getStore().list(), compiledPolicies, node, now));
        for (StreamRoute sr : routes.getStore().list()) {
            Optional<RouteTable.RouteView> v = table.view(sr.key());
            if (v.isEmpty()) {
                continue;
            }
            StreamRouteStatus want = RouteStatus.of(v.get(), node, sr.getStatus(), now);
            if (RouteStatus.same(want, sr.getStatus())) {
                continue;
            }
            StreamRoute copy = client.getKubernetesSerialization().clone(sr);
            copy.setStatus(want);
            try {
                client.resources(StreamRoute.class)
                        .inNamespace(sr.getMetadata().getNamespace())
                        .resource(copy)
                        .updateStatus();
                statusWrites.incrementAndGet();
                log.debug("status of route {} written", sr.key());
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409 || e.getCode() == 404) {
                    continue; // changed or deleted meanwhile: the informer brings the new state,
                    // and another round
                }
                log.warn(
                        "cannot write status of StreamRoute {}: {} (is streamroutes/status update allowed by the "
                                + "agent's ClusterRole?)",
                        sr.key(),
                        e.getMessage());
            }
        }
    }

    @Override
    public boolean ready() {
        return synced;
    }

    /** Why this watcher is not ready yet (for /readyz), or empty. */
    public Optional<String> waitingFor() {
        if (synced) {
            return Optional.empty();
        }
        List<String> w = new ArrayList<>();
        if (!identities.isSynced()) {
            w.add("the cluster's pods: workload identities");
        }
        w.add("the first listing of every informer");
        return Optional.of("kubernetes (" + String.join(" and ", w) + ")");
    }

    @Override
    public String describe() {
        return "kubernetes: node "
                + node
                + ", routes from StreamRoutes (probe every "
                + cfg.probeInterval().toMillis()
                + " ms), status "
                + cfg.status().name().toLowerCase(Locale.ROOT)
                + ", identities in trust domain "
                + cfg.trustDomain()
                + " ("
                + identities.size()
                + " pod addresses), "
                + policies.policies().size()
                + " StreamPolicies"
                + (interceptor == null
                        ? ", interception off"
                        : ", interception by "
                                + cfg.intercept().label()
                                + " on TCP "
                                + cfg.intercept().tcpPorts());
    }

    @Override
    public void close() {
        closed = true;
        for (SharedIndexInformer<?> i : informers) {
            try {
                i.close();
            } catch (RuntimeException ignored) {
                // closing anyway
            }
        }
        loop.shutdownNow();
        probes.shutdownNow();
        if (ownsClient || ownsClientAnyway) {
            client.close();
        }
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing {}: {}", c, e.getMessage());
            }
        }
    }

    /**
     * The watcher for a running agent: interception when the datapath is in BPF mode and
     * kubernetes.intercept.enabled, RTP idle times from its flow table, the RTSP proxy's port as
     * the interception target.
     */
    public static KubernetesWatch forAgent(
            AgentConfig agentCfg, Datapath datapath, MeterRegistry registry) {
        return forAgent(agentCfg, datapath, registry, IdentitySink.NONE);
    }

    /** As above, writing pod addresses' identities to {@code sink} (the media plane's). */
    public static KubernetesWatch forAgent(
            AgentConfig agentCfg, Datapath datapath, MeterRegistry registry, IdentitySink sink) {
        KubernetesSettings k = agentCfg.kubernetes();
        String node = nodeName(k);
        Interception icpt = null;
        if (k.intercept().enabled() && datapath != null) {
            // interception is an extra: a node where it cannot work (no cgroup v2, an old kernel)
            // still routes
            try {
                Path root = k.intercept().cgroupRoot().orElseGet(CgroupV2::require);
                int port =
                        k.intercept().proxyPort() != 0
                                ? k.intercept().proxyPort()
                                : agentCfg.rtspListen().port();
                InetSocketAddress proxy =
                        k.intercept()
                                .proxyAddress()
                                .map(h -> new InetSocketAddress(h.address(), port))
                                .orElse(null);
                icpt =
                        Interception.start(
                                k.intercept().pinDir(),
                                root,
                                k.intercept().tcpPorts(),
                                proxy,
                                port);
            } catch (RuntimeException e) {
                log.warn("interception off on this node: {}", e.getMessage());
            }
        } else if (k.intercept().enabled()) {
            log.info("interception needs the BPF datapath: off in userspace mode");
        }
        Supplier<Collection<RouteTable.RtpFlow>> flows =
                datapath == null ? List::of : () -> rtpFlows(datapath);
        KubernetesClient client = null;
        if (k.kubeconfig().isPresent()) {
            try {
                String text = Files.readString(k.kubeconfig().get());
                client =
                        new KubernetesClientBuilder()
                                .withConfig(Config.fromKubeconfig(text))
                                .build();
            } catch (IOException e) {
                throw new ConfigException(
                        "kubernetes.kubeconfig",
                        "cannot read " + k.kubeconfig().get() + ": " + e.getMessage());
            }
        }
        KubernetesWatch w = new KubernetesWatch(client, k, node, icpt, flows, new Random(), sink);
        w.ownsClientAnyway = client != null;
        w.rtspPort(agentCfg.rtspListen().port());
        if (icpt != null) {
            w.owned.add(icpt);
        }
        w.bindMetrics(registry, icpt);
        return w;
    }

    /** Routes, target health and interception on /metrics. */
    void bindMetrics(MeterRegistry registry, Interception icpt) {
        Gauge.builder("msm.k8s.routes", table, t -> t.routeKeys().size())
                .description("StreamRoutes this agent sees")
                .register(registry);
        for (RouteTable.State st : RouteTable.State.values()) {
            Gauge.builder(
                            "msm.k8s.targets",
                            table,
                            t ->
                                    t.probeJobs().stream()
                                            .filter(
                                                    j ->
                                                            t.health(j.target())
                                                                    .map(h -> h.state() == st)
                                                                    .orElse(false))
                                            .count())
                    .description("backend targets (Service endpoints, urls) by health")
                    .tag("state", st.name().toLowerCase(Locale.ROOT))
                    .register(registry);
        }
        Gauge.builder("msm.identity.addresses", identities, PodIdentities::size)
                .description("pod addresses with a workload identity (cluster-wide)")
                .register(registry);
        Gauge.builder("msm.identity.identities", identities, PodIdentities::identities)
                .description("distinct workload identities (namespace + ServiceAccount) in use")
                .register(registry);
        Gauge.builder("msm.k8s.policies", policies, p -> p.policies().size())
                .description("StreamPolicies enforced (valid or fail-closed)")
                .register(registry);
        FunctionCounter.builder("msm.k8s.status.writes", this, w -> w.statusWrites.get())
                .description("StreamRoute status updates written")
                .register(registry);
        if (icpt != null) {
            Gauge.builder("msm.intercept.pods", icpt, i -> i.attached().size())
                    .description("pods of this node whose connects are intercepted")
                    .register(registry);
            FunctionCounter.builder("msm.intercept.redirects", icpt, i -> i.stats().redirected())
                    .description("connects redirected to the proxy (kernel counter)")
                    .register(registry);
        }
    }

    /** RTP flows of the kernel's flow table, by source address. */
    static Collection<RouteTable.RtpFlow> rtpFlows(Datapath dp) {
        List<RouteTable.RtpFlow> out = new ArrayList<>();
        try (var m = dp.flows()) {
            m.forEach(
                    (k, f) -> {
                        if (f.trafficClass() == TrafficClass.RTP) {
                            out.add(new RouteTable.RtpFlow(k.src(), f.firstNs(), f.lastNs()));
                        }
                    });
        }
        return out;
    }
}
