package io.msm.agent.k8s.gateway;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.config.ConfigException;
import io.msm.agent.config.GameSettings;
import io.msm.agent.game.GameControl;
import io.msm.agent.game.GameTables;
import io.msm.agent.k8s.KubernetesWatch;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Game services from the Gateway API ({@code kubernetes.gateway-api: true}): informers on
 * GatewayClasses, Gateways (gateway.networking.k8s.io/v1) and UDPRoutes (v1alpha2, the experimental
 * channel), read as generic resources, and on Services, EndpointSlices and pods for the backends: a
 * backendRef's Service port (UDP) resolves to the ready endpoints of its EndpointSlices, each with
 * the routing token of its pod's {@code msm.io/routing-token} annotation ({@code hex:...}, {@code
 * base64:...} or bare hex). Every event schedules one rebuild: {@link GatewayTranslator} turns the
 * objects into services for {@link GameControl} and into status, which the agent that writes status
 * (the elected one, as for StreamRoutes) writes through the status subresource, only when it
 * changed: GatewayClass Accepted; Gateway Accepted, Programmed and status.listeners[]; UDPRoute
 * status.parents[] (its entries of msm's controllerName, others' kept) with Accepted and
 * ResolvedRefs.
 */
public final class GatewayWatch implements io.msm.agent.Service {
    private static final Logger log = LoggerFactory.getLogger(GatewayWatch.class);

    public static final String GROUP = "gateway.networking.k8s.io";
    public static final String TOKEN_ANNOTATION = "msm.io/routing-token";
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    static final String BY_SERVICE = "byService";

    static final ResourceDefinitionContext CLASSES =
            new ResourceDefinitionContext.Builder()
                    .withGroup(GROUP)
                    .withVersion("v1")
                    .withKind("GatewayClass")
                    .withPlural("gatewayclasses")
                    .withNamespaced(false)
                    .build();
    static final ResourceDefinitionContext GATEWAYS =
            new ResourceDefinitionContext.Builder()
                    .withGroup(GROUP)
                    .withVersion("v1")
                    .withKind("Gateway")
                    .withPlural("gateways")
                    .withNamespaced(true)
                    .build();
    static final ResourceDefinitionContext UDP_ROUTES =
            new ResourceDefinitionContext.Builder()
                    .withGroup(GROUP)
                    .withVersion("v1alpha2")
                    .withKind("UDPRoute")
                    .withPlural("udproutes")
                    .withNamespaced(true)
                    .build();

    /** Where the services go: {@link GameControl#apply} for the "gateway" source. */
    public interface Sink {
        void apply(List<GameTables.Service> services);

        List<Inet4Address> nodeAddresses();
    }

    private final KubernetesClient client;
    private final Sink sink;
    private final BooleanSupplier writer;
    private final ScheduledExecutorService loop;
    private final AtomicBoolean pending = new AtomicBoolean();
    private final AtomicInteger statusWrites = new AtomicInteger();
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private SharedIndexInformer<GenericKubernetesResource> classes;
    private SharedIndexInformer<GenericKubernetesResource> gateways;
    private SharedIndexInformer<GenericKubernetesResource> routes;
    private SharedIndexInformer<Service> services;
    private SharedIndexInformer<EndpointSlice> slices;
    private SharedIndexInformer<Pod> pods;
    private volatile boolean synced;
    private volatile boolean closed;
    private volatile int serviceCount;
    private final Map<String, String> badTokens = new HashMap<>();

    /**
     * @param writer whether this agent writes status now
     */
    public GatewayWatch(KubernetesClient client, Sink sink, BooleanSupplier writer) {
        this.client = client;
        this.sink = sink;
        this.writer = writer;
        this.loop =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "msm-gateway");
                            t.setDaemon(true);
                            return t;
                        });
    }

    /** The watcher of a running agent: its Kubernetes client and status writer, its game tables. */
    public static GatewayWatch forAgent(
            KubernetesWatch k, GameControl game, MeterRegistry registry) {
        GatewayWatch w =
                new GatewayWatch(
                        k.client(),
                        new Sink() {
                            @Override
                            public void apply(List<GameTables.Service> services) {
                                game.apply(GameControl.GATEWAY, services);
                            }

                            @Override
                            public List<Inet4Address> nodeAddresses() {
                                return game.nodeAddresses();
                            }
                        },
                        k::writesStatus);
        w.bindMetrics(registry);
        return w;
    }

    void bindMetrics(MeterRegistry registry) {
        Gauge.builder("msm.k8s.gateway.services", this, w -> w.serviceCount)
                .description("game services from UDPRoutes on this node (one per node address)")
                .register(registry);
        FunctionCounter.builder("msm.k8s.gateway.status.writes", this, w -> w.statusWrites.get())
                .description("GatewayClass, Gateway and UDPRoute status updates written")
                .register(registry);
    }

    @Override
    public String name() {
        return "gateway-api";
    }

    @Override
    public void start() {
        classes = client.genericKubernetesResources(CLASSES).runnableInformer(0);
        gateways = client.genericKubernetesResources(GATEWAYS).inAnyNamespace().runnableInformer(0);
        routes = client.genericKubernetesResources(UDP_ROUTES).inAnyNamespace().runnableInformer(0);
        services = client.services().inAnyNamespace().runnableInformer(0);
        slices = client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0);
        slices.addIndexers(Map.of(BY_SERVICE, GatewayWatch::byService));
        pods = client.pods().inAnyNamespace().runnableInformer(0);
        informers.addAll(List.of(classes, gateways, routes, services, slices, pods));
        List<CompletableFuture<Void>> started = new ArrayList<>();
        for (SharedIndexInformer<?> i : informers) {
            @SuppressWarnings("unchecked")
            SharedIndexInformer<HasMetadata> h = (SharedIndexInformer<HasMetadata>) i;
            h.addEventHandler(handler());
            started.add(h.start().toCompletableFuture());
        }
        CompletableFuture.allOf(started.toArray(CompletableFuture[]::new))
                .whenComplete(
                        (v, e) -> {
                            if (e != null) {
                                log.warn(
                                        "gateway-api: an informer could not list its resources ({}); it keeps"
                                                + " retrying. Are the Gateway API CRDs of the experimental channel"
                                                + " installed (kubectl get crd udproutes.gateway.networking.k8s.io) and"
                                                + " the chart's gatewayApi.enabled RBAC in place?",
                                        e.getMessage());
                                return;
                            }
                            synced = true;
                            log.info(
                                    "gateway-api: watching GatewayClasses ({}), Gateways and UDPRoutes",
                                    GatewayTranslator.CONTROLLER);
                            changed();
                        });
    }

    static List<String> byService(EndpointSlice s) {
        String svc =
                s.getMetadata().getLabels() == null
                        ? null
                        : s.getMetadata().getLabels().get(SERVICE_NAME_LABEL);
        return svc == null ? List.of() : List.of(s.getMetadata().getNamespace() + "/" + svc);
    }

    private ResourceEventHandler<HasMetadata> handler() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(HasMetadata obj) {
                changed();
            }

            @Override
            public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
                changed();
            }

            @Override
            public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
                changed();
            }
        };
    }

    private void changed() {
        if (!closed && pending.compareAndSet(false, true)) {
            loop.execute(
                    () -> {
                        pending.set(false);
                        rebuild();
                    });
        }
    }

    void rebuild() {
        if (!synced) {
            return;
        }
        try {
            GatewayTranslator.Result r =
                    GatewayTranslator.translate(
                            classes.getStore().list(),
                            gateways.getStore().list(),
                            routes.getStore().list(),
                            this::resolve,
                            sink.nodeAddresses());
            sink.apply(r.services());
            serviceCount = r.services().size();
            if (writer.getAsBoolean()) {
                writeStatus(r);
            }
        } catch (RuntimeException e) {
            log.warn("gateway-api: rebuilding the game services failed: {}", e.toString(), e);
        }
    }

    /** A Service's UDP port to its ready IPv4 endpoints, each with its pod's routing token. */
    List<GameTables.Backend> resolve(String namespace, String name, int port) {
        Service svc = services.getStore().getByKey(Cache.namespaceKeyFunc(namespace, name));
        if (svc == null || svc.getSpec() == null || svc.getSpec().getPorts() == null) {
            return List.of();
        }
        ServicePort sp = null;
        for (ServicePort p : svc.getSpec().getPorts()) {
            if (p.getPort() != null && p.getPort() == port && "UDP".equals(p.getProtocol())) {
                sp = p;
            }
        }
        if (sp == null) {
            return List.of();
        }
        String portName = Objects.requireNonNullElse(sp.getName(), "");
        Map<String, GameTables.Backend> out = new LinkedHashMap<>();
        for (EndpointSlice s : slices.getIndexer().byIndex(BY_SERVICE, namespace + "/" + name)) {
            if (!"IPv4".equals(s.getAddressType())) {
                continue;
            }
            Integer target = null;
            for (EndpointPort ep : s.getPorts() == null ? List.<EndpointPort>of() : s.getPorts()) {
                if (Objects.requireNonNullElse(ep.getName(), "").equals(portName)
                        && "UDP".equals(ep.getProtocol())) {
                    target = ep.getPort();
                }
            }
            if (target == null) {
                continue;
            }
            for (Endpoint e : s.getEndpoints() == null ? List.<Endpoint>of() : s.getEndpoints()) {
                boolean ready =
                        e.getConditions() == null
                                || !Objects.equals(e.getConditions().getReady(), Boolean.FALSE);
                if (!ready || e.getAddresses() == null) {
                    continue;
                }
                byte[] token = token(e.getTargetRef());
                for (String a : e.getAddresses()) {
                    try {
                        if (InetAddress.getByName(a) instanceof Inet4Address v4) {
                            out.put(a + ":" + target, new GameTables.Backend(v4, target, 1, token));
                        }
                    } catch (UnknownHostException ignored) {
                        // not an address literal: skipped (addressType says IPv4)
                    }
                }
            }
        }
        List<GameTables.Backend> sorted = new ArrayList<>(out.values());
        sorted.sort(
                Comparator.comparing((GameTables.Backend b) -> b.addr().getHostAddress())
                        .thenComparingInt(GameTables.Backend::port));
        return sorted;
    }

    /** The routing token of an endpoint's pod, or null (none, or not valid: logged once). */
    private byte[] token(ObjectReference ref) {
        if (ref == null || !"Pod".equals(ref.getKind())) {
            return null;
        }
        String key = Cache.namespaceKeyFunc(ref.getNamespace(), ref.getName());
        Pod p = pods.getStore().getByKey(key);
        if (p == null || p.getMetadata().getAnnotations() == null) {
            return null;
        }
        String text = p.getMetadata().getAnnotations().get(TOKEN_ANNOTATION);
        if (text == null) {
            return null;
        }
        try {
            return GameSettings.token(TOKEN_ANNOTATION, text);
        } catch (ConfigException e) {
            if (!text.equals(badTokens.put(key, text))) {
                log.warn("gateway-api: pod {}: {}", key, e.getMessage());
            }
            return null;
        }
    }

    private void writeStatus(GatewayTranslator.Result r) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        for (GenericKubernetesResource c : classes.getStore().list()) {
            List<GatewayTranslator.Condition> conds =
                    r.status().get("GatewayClass/" + c.getMetadata().getName());
            if (conds != null) {
                write(CLASSES, c, st -> withConditions(st, conds, c, now));
            }
        }
        for (GenericKubernetesResource g : gateways.getStore().list()) {
            String key = g.getMetadata().getNamespace() + "/" + g.getMetadata().getName();
            List<GatewayTranslator.Condition> conds = r.status().get("Gateway/" + key);
            if (conds == null) {
                continue;
            }
            List<GatewayTranslator.ListenerStatus> ls = r.listeners().getOrDefault(key, List.of());
            write(
                    GATEWAYS,
                    g,
                    st -> {
                        Map<String, Object> out = withConditions(st, conds, g, now);
                        List<Map<String, Object>> old = GatewayTranslator.list(st, "listeners");
                        List<Map<String, Object>> listeners = new ArrayList<>();
                        for (GatewayTranslator.ListenerStatus l : ls) {
                            Map<String, Object> prev =
                                    old.stream()
                                            .filter(o -> l.name().equals(o.get("name")))
                                            .findFirst()
                                            .orElse(Map.of());
                            Map<String, Object> e = new LinkedHashMap<>();
                            e.put("name", l.name());
                            e.put(
                                    "supportedKinds",
                                    l.udp()
                                            ? List.of(Map.of("group", GROUP, "kind", "UDPRoute"))
                                            : List.of());
                            e.put("attachedRoutes", l.attachedRoutes());
                            e.put("conditions", conditions(l.conditions(), prev, g, now));
                            listeners.add(e);
                        }
                        out.put("listeners", listeners);
                        return out;
                    });
        }
        for (GenericKubernetesResource rt : routes.getStore().list()) {
            String key = rt.getMetadata().getNamespace() + "/" + rt.getMetadata().getName();
            List<GatewayTranslator.ParentStatus> ps = r.parents().get(key);
            if (ps == null) {
                continue;
            }
            write(
                    UDP_ROUTES,
                    rt,
                    st -> {
                        Map<String, Object> out = new LinkedHashMap<>(st);
                        List<Map<String, Object>> old = GatewayTranslator.list(st, "parents");
                        List<Map<String, Object>> parents = new ArrayList<>();
                        for (Map<String, Object> o : old) {
                            if (!GatewayTranslator.CONTROLLER.equals(o.get("controllerName"))) {
                                parents.add(o); // another controller's entry: theirs
                            }
                        }
                        for (GatewayTranslator.ParentStatus p : ps) {
                            Map<String, Object> prev =
                                    old.stream()
                                            .filter(
                                                    o ->
                                                            GatewayTranslator.CONTROLLER.equals(
                                                                            o.get("controllerName"))
                                                                    && p.parentRef()
                                                                            .equals(
                                                                                    o.get(
                                                                                            "parentRef")))
                                            .findFirst()
                                            .orElse(Map.of());
                            Map<String, Object> e = new LinkedHashMap<>();
                            e.put("parentRef", p.parentRef());
                            e.put("controllerName", GatewayTranslator.CONTROLLER);
                            e.put("conditions", conditions(p.conditions(), prev, rt, now));
                            parents.add(e);
                        }
                        out.put("parents", parents);
                        return out;
                    });
        }
    }

    private static Map<String, Object> withConditions(
            Map<String, Object> st,
            List<GatewayTranslator.Condition> conds,
            HasMetadata obj,
            String now) {
        Map<String, Object> out = new LinkedHashMap<>(st);
        out.put("conditions", conditions(conds, st, obj, now));
        return out;
    }

    /**
     * Conditions as the API writes them; lastTransitionTime kept from {@code prev} (an object with
     * "conditions") while a condition's status does not change.
     */
    static List<Map<String, Object>> conditions(
            List<GatewayTranslator.Condition> conds,
            Map<String, Object> prev,
            HasMetadata obj,
            String now) {
        List<Map<String, Object>> old = GatewayTranslator.list(prev, "conditions");
        List<Map<String, Object>> out = new ArrayList<>();
        for (GatewayTranslator.Condition c : conds) {
            String status = c.status() ? "True" : "False";
            String since = now;
            for (Map<String, Object> o : old) {
                if (c.type().equals(o.get("type"))
                        && status.equals(o.get("status"))
                        && o.get("lastTransitionTime") != null) {
                    since = (String) o.get("lastTransitionTime");
                }
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("type", c.type());
            m.put("status", status);
            m.put("reason", c.reason());
            m.put("message", c.message());
            Long gen = obj.getMetadata().getGeneration();
            m.put("observedGeneration", gen == null ? 0L : gen);
            m.put("lastTransitionTime", since);
            out.add(m);
        }
        return out;
    }

    /** Write an object's status if the wanted one differs from what it has. */
    @SuppressWarnings("unchecked")
    private void write(
            ResourceDefinitionContext ctx,
            GenericKubernetesResource obj,
            Function<Map<String, Object>, Map<String, Object>> build) {
        Object cur = obj.getAdditionalProperties().get("status");
        Map<String, Object> st = cur instanceof Map ? (Map<String, Object>) cur : Map.of();
        Map<String, Object> want = build.apply(st);
        // compare as JSON: numbers may come back as Integer or Long
        var ser = client.getKubernetesSerialization();
        if (ser.asJson(want).equals(ser.asJson(st))) {
            return;
        }
        GenericKubernetesResource copy = ser.clone(obj);
        copy.getAdditionalProperties().put("status", want);
        try {
            var op = client.genericKubernetesResources(ctx);
            (ctx.isNamespaceScoped()
                            ? op.inNamespace(obj.getMetadata().getNamespace()).resource(copy)
                            : op.resource(copy))
                    .updateStatus();
            statusWrites.incrementAndGet();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409 || e.getCode() == 404) {
                return; // changed or deleted meanwhile: the informer brings the new state
            }
            log.warn(
                    "gateway-api: cannot write the status of {} {}/{}: {} (does the chart's"
                            + " ClusterRole allow updating {}/status? gatewayApi.enabled)",
                    ctx.getKind(),
                    obj.getMetadata().getNamespace(),
                    obj.getMetadata().getName(),
                    e.getMessage(),
                    ctx.getPlural());
        }
    }

    int statusWrites() {
        return statusWrites.get();
    }

    @Override
    public boolean ready() {
        return synced;
    }

    @Override
    public String describe() {
        return "gateway-api: UDPRoutes of GatewayClasses with controllerName "
                + GatewayTranslator.CONTROLLER
                + " → "
                + serviceCount
                + " game service(s) on "
                + sink.nodeAddresses();
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
        try {
            loop.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** For tests: the current node addresses source. */
    static Sink sink(Supplier<List<Inet4Address>> addrs, Consumer<List<GameTables.Service>> apply) {
        return new Sink() {
            @Override
            public void apply(List<GameTables.Service> services) {
                apply.accept(services);
            }

            @Override
            public List<Inet4Address> nodeAddresses() {
                return addrs.get();
            }
        };
    }
}
