package io.msm.agent.k8s.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The routing table on its own: precedence, host forms, URL building, health transitions, RTP stop,
 * hold-down.
 */
class RouteTableTest {
    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final RouteTable table = new RouteTable(new Random(7), now::get);

    static Route route(
            String key,
            String created,
            String host,
            Route.PathType type,
            String path,
            List<Route.BackendSpec> backends) {
        return new Route(
                key,
                1,
                created,
                host,
                type,
                path,
                backends,
                Duration.ofSeconds(3),
                Duration.ofSeconds(5),
                Optional.empty());
    }

    static Route.BackendSpec url(String url, int weight) {
        return new Route.BackendSpec(url, weight, null, URI.create(url));
    }

    static final ServiceEndpoints NO_SERVICES =
            ref -> ServiceEndpoints.Resolution.problem("ServiceNotFound", "none");

    @Test
    void precedenceHostThenLongestPathThenExact() {
        table.update(
                List.of(
                        route(
                                "ns/root",
                                "2024-01-01T00:00:00Z",
                                null,
                                Route.PathType.PATH_PREFIX,
                                "/",
                                List.of(url("rtsp://10.0.0.1/", 1))),
                        route(
                                "ns/prefix",
                                "2024-01-01T00:00:00Z",
                                null,
                                Route.PathType.PATH_PREFIX,
                                "/a/",
                                List.of(url("rtsp://10.0.0.2/", 1))),
                        route(
                                "ns/exact",
                                "2024-01-01T00:00:00Z",
                                null,
                                Route.PathType.EXACT,
                                "/a",
                                List.of(url("rtsp://10.0.0.3/", 1))),
                        route(
                                "ns/host",
                                "2024-01-01T00:00:00Z",
                                "cam.example.com",
                                Route.PathType.PATH_PREFIX,
                                "/",
                                List.of(url("rtsp://10.0.0.4/", 1))),
                        route(
                                "ns/wild",
                                "2024-01-01T00:00:00Z",
                                "*.example.com",
                                Route.PathType.PATH_PREFIX,
                                "/a",
                                List.of(url("rtsp://10.0.0.5/", 1)))),
                NO_SERVICES);
        assertEquals(
                Optional.of("ns/exact"),
                table.routeFor(null, "/a"),
                "Exact beats PathPrefix of the same length");
        assertEquals(
                Optional.of("ns/prefix"),
                table.routeFor(null, "/a/b"),
                "a trailing '/' in a prefix is ignored");
        assertEquals(
                Optional.of("ns/root"),
                table.routeFor(null, "/ab"),
                "prefixes match whole segments");
        assertEquals(Optional.of("ns/root"), table.routeFor("", "/x"));
        assertEquals(
                Optional.of("ns/host"),
                table.routeFor("CAM.Example.com:8554", "/a/b"),
                "an exact host beats a wildcard with a longer path");
        assertEquals(
                Optional.of("ns/wild"),
                table.routeFor("other.example.com.", "/a/b"),
                "trailing dot, wildcard");
        assertEquals(
                "ns/prefix",
                table.routeFor("x.y.example.com", "/a/b").orElseThrow(),
                "two labels do not match '*.': the host-less routes take it");
        assertEquals(
                Optional.of("ns/root"),
                table.routeFor("[2001:db8::1]:554", "/z"),
                "IPv6 host literal");
    }

    @Test
    void urlsAreBuiltFromTheRequestPath() {
        table.update(
                List.of(
                        route(
                                "ns/p",
                                "t",
                                null,
                                Route.PathType.PATH_PREFIX,
                                "/cams",
                                List.of(url("rtsp://10.0.0.1:8554/origin/", 1))),
                        route(
                                "ns/e",
                                "t",
                                null,
                                Route.PathType.EXACT,
                                "/live",
                                List.of(url("rtsp://10.0.0.2", 1)))),
                NO_SERVICES);
        assertEquals(
                URI.create("rtsp://10.0.0.1:8554/origin/1/hd"),
                table.choose(null, "/cams/1/hd").orElseThrow().upstream());
        assertEquals(
                URI.create("rtsp://10.0.0.1:8554/origin/"),
                table.choose(null, "/cams").orElseThrow().upstream());
        assertEquals(
                URI.create("rtsp://10.0.0.2:554/live"),
                table.choose(null, "/live").orElseThrow().upstream(),
                "a url without a path serves the requested path; port 554 by default");
    }

    @Test
    void anRtspsUrlKeepsItsSchemeAndPort322AndIsProbedOverTls() {
        table.update(
                List.of(
                        route(
                                "ns/r",
                                "t",
                                null,
                                Route.PathType.EXACT,
                                "/remote/show",
                                List.of(url("rtsps://b.example.com/show", 1)))),
                NO_SERVICES);
        assertEquals(
                URI.create("rtsps://b.example.com:322/show"),
                table.choose(null, "/remote/show").orElseThrow().upstream(),
                "pulled over TLS, RTSPS's default port");
        RouteTable.ProbeJob job = table.probeJobs().get(0);
        assertTrue(job.tls(), "the probe handshakes too");
        assertEquals(322, job.port());
    }

    @Test
    void hotStandbyIsAnotherTargetOfTheRoute() {
        Route r =
                new Route(
                        "ns/hot",
                        1,
                        "t",
                        null,
                        Route.PathType.PATH_PREFIX,
                        "/show",
                        List.of(url("rtsp://10.0.0.1", 1), url("rtsp://10.0.0.2", 1)),
                        Duration.ofSeconds(3),
                        Duration.ofSeconds(5),
                        Optional.empty(),
                        Duration.ofMillis(300));
        table.update(List.of(r), NO_SERVICES);
        for (int i = 0; i < 20; i++) {
            Backend b = table.choose(null, "/show/1").orElseThrow();
            Backend.Standby s = b.standby();
            assertTrue(s != null, "a standby for every session");
            assertFalse(s.endpoint().equals(b.endpoint()), "the standby is the other target");
            assertEquals(URI.create("rtsp://" + s.endpoint() + "/show/1"), s.upstream());
            assertEquals(Duration.ofMillis(300), s.silence());
        }
        table.update(
                List.of(
                        route(
                                "ns/cold",
                                "t",
                                null,
                                Route.PathType.PATH_PREFIX,
                                "/show",
                                List.of(url("rtsp://10.0.0.1", 1), url("rtsp://10.0.0.2", 1)))),
                NO_SERVICES);
        assertEquals(
                null,
                table.choose(null, "/show/1").orElseThrow().standby(),
                "no hotStandby: no standby");
    }

    @Test
    void invalidAndConflictingRoutesAreNotUsed() {
        Route older =
                route(
                        "ns/a",
                        "2024-01-01T00:00:00Z",
                        null,
                        Route.PathType.EXACT,
                        "/x",
                        List.of(url("rtsp://10.0.0.1/", 1)));
        Route newer =
                route(
                        "ns/b",
                        "2024-02-01T00:00:00Z",
                        null,
                        Route.PathType.EXACT,
                        "/x",
                        List.of(url("rtsp://10.0.0.2/", 1)));
        Route bad =
                new Route(
                        "ns/c",
                        1,
                        "t",
                        null,
                        Route.PathType.EXACT,
                        "/y",
                        List.of(),
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(1),
                        Optional.of("spec.backends needs at least one backend"));
        table.update(List.of(newer, bad, older), NO_SERVICES);
        assertEquals(
                "ns/a", table.choose(null, "/x").orElseThrow().route(), "the older route wins");
        RouteTable.RouteView v = table.view("ns/b").orElseThrow();
        assertFalse(v.accepted());
        assertEquals("Conflicted", v.notAcceptedReason());
        assertEquals("Invalid", table.view("ns/c").orElseThrow().notAcceptedReason());
        assertTrue(table.choose(null, "/y").isEmpty());
    }

    @Test
    void serviceEndpointsDownAndBackAndRtpStop() throws Exception {
        InetAddress e1 = InetAddress.getByName("10.1.0.1");
        InetAddress e2 = InetAddress.getByName("10.1.0.2");
        ServiceEndpoints eps =
                ref ->
                        ServiceEndpoints.Resolution.of(
                                List.of(
                                        new InetSocketAddress(e1, 8554),
                                        new InetSocketAddress(e2, 8554)));
        Route r =
                route(
                        "ns/svc",
                        "t",
                        null,
                        Route.PathType.EXACT,
                        "/s",
                        List.of(
                                new Route.BackendSpec(
                                        "ns/o:554",
                                        1,
                                        new Route.ServiceRef("ns", "o", 554),
                                        null)));
        table.update(List.of(r), eps);
        assertEquals(2, table.probeJobs().size(), "one probe per endpoint");
        assertEquals(URI.create("rtsp://10.1.0.1:8554/s"), table.probeJobs().get(0).describe());
        RouteTable.TargetKey k1 = table.probeJobs().get(0).target();
        RouteTable.TargetKey k2 = table.probeJobs().get(1).target();
        table.markUp(k1);
        table.markUp(k2);
        table.markDown(k1, Failure.of(Failure.Kind.DESCRIBE_FAILED, "500"));
        for (int i = 0; i < 50; i++) {
            assertEquals("10.1.0.2:8554", table.choose(null, "/s").orElseThrow().endpoint());
        }
        table.markUp(k1);
        assertTrue(
                IntStream.range(0, 50)
                        .mapToObj(i -> table.choose(null, "/s").orElseThrow())
                        .anyMatch(b -> b.endpoint().equals("10.1.0.1:8554")),
                "back after a good probe");

        // RTP: e2 sent after it came up, then stopped for longer than rtpTimeout (5 s)
        long t = now.get();
        now.addAndGet(6_000_000_000L);
        List<RouteTable.TargetKey> stopped =
                table.checkRtp(
                        List.of(
                                new RouteTable.RtpFlow(e2, t, t + 1),
                                new RouteTable.RtpFlow(e1, t, now.get() - 1)),
                        now.get());
        assertEquals(List.of(k2), stopped, "only the silent endpoint");
        table.markUp(k2);
        assertEquals(
                RouteTable.State.DOWN,
                table.health(k2).orElseThrow().state(),
                "held out for rtpTimeout");
        now.addAndGet(5_000_000_001L);
        table.markUp(k2);
        assertEquals(
                RouteTable.State.UP, table.health(k2).orElseThrow().state(), "back after the hold");
        assertEquals(
                List.of(),
                table.checkRtp(List.of(new RouteTable.RtpFlow(e2, t, t + 1)), now.get()),
                "its old flow does not count after it came back");

        Backend b = table.choose(null, "/s").orElseThrow();
        table.report(b, Failure.of(Failure.Kind.CONNECT_FAILED, "refused"));
        assertEquals(
                RouteTable.State.DOWN,
                table.health(new RouteTable.TargetKey(b.route(), b.name(), b.endpoint()))
                        .orElseThrow()
                        .state(),
                "a report takes it out");

        // endpoints change: health of the remaining endpoint is kept, the gone one forgotten
        RouteTable.Health before = table.health(k2).orElseThrow();
        table.update(
                List.of(r),
                ref -> ServiceEndpoints.Resolution.of(List.of(new InetSocketAddress(e2, 8554))));
        assertEquals(1, table.probeJobs().size());
        assertEquals(
                before, table.health(k2).orElseThrow(), "the staying endpoint keeps its health");
        assertTrue(table.health(k1).isEmpty(), "the gone endpoint is forgotten");
    }
}
