package io.msm.agent.k8s.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.msm.agent.k8s.crd.StreamRoute;
import io.msm.agent.k8s.crd.StreamRouteSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** spec.hotStandby: parsed, bounded, and refused with the field named when it cannot work. */
class RouteCompilerTest {
    final RouteCompiler compiler = new RouteCompiler(Duration.ofSeconds(3), Duration.ofSeconds(5));

    static StreamRoute route(String hotStandby, List<StreamRouteSpec.BackendRef> backends) {
        StreamRoute sr = new StreamRoute();
        sr.setMetadata(new ObjectMetaBuilder().withName("live").withNamespace("media").build());
        StreamRouteSpec s = new StreamRouteSpec();
        s.match = new StreamRouteSpec.Match();
        s.match.path = new StreamRouteSpec.PathMatch();
        s.match.path.value = "/show";
        s.backends = new ArrayList<>(backends);
        s.hotStandby = hotStandby;
        sr.setSpec(s);
        return sr;
    }

    static StreamRouteSpec.BackendRef service(String name) {
        StreamRouteSpec.BackendRef b = new StreamRouteSpec.BackendRef();
        b.service = new StreamRouteSpec.ServiceRef();
        b.service.name = name;
        b.service.port = 554;
        return b;
    }

    static StreamRouteSpec.BackendRef url(String url) {
        StreamRouteSpec.BackendRef b = new StreamRouteSpec.BackendRef();
        b.url = url;
        return b;
    }

    @Test
    void hotStandbyIsADurationFrom20MsTo10S() {
        Route r = compiler.compile(route("300ms", List.of(service("origin"))));
        assertTrue(r.invalid().isEmpty(), r.invalid().toString());
        assertEquals(Duration.ofMillis(300), r.hotStandby());
        assertEquals(
                Duration.ofMillis(1500),
                compiler.compile(route("1.5s", List.of(service("origin")))).hotStandby());
        assertEquals(
                Duration.ofMillis(20),
                compiler.compile(route("20ms", List.of(service("origin")))).hotStandby());
        assertNull(compiler.compile(route(null, List.of(service("origin")))).hotStandby());
    }

    @Test
    void badHotStandbyMakesTheRouteInvalidWithTheReason() {
        for (String bad : new String[] {"5ms", "11s", "300", "fast", "-1s", "1m"}) {
            Route r = compiler.compile(route(bad, List.of(service("origin"))));
            assertTrue(r.invalid().isPresent(), bad + " is refused");
            assertTrue(
                    r.invalid()
                                    .get()
                                    .contains("spec.hotStandby must be a duration from 20ms to 10s")
                            && r.invalid().get().contains("'" + bad + "'"),
                    r.invalid().get());
        }
    }

    @Test
    void hotStandbyNeedsASecondTarget() {
        Route one = compiler.compile(route("300ms", List.of(url("rtsp://10.0.0.1/cam"))));
        assertTrue(
                one.invalid().orElse("").contains("spec.hotStandby needs a second target"),
                one.invalid().toString());
        Route two =
                compiler.compile(
                        route(
                                "300ms",
                                List.of(url("rtsp://10.0.0.1/cam"), url("rtsp://10.0.0.2/cam"))));
        assertTrue(two.invalid().isEmpty(), "two urls: active and standby");
        assertTrue(
                compiler.compile(route("300ms", List.of(service("origin")))).invalid().isEmpty(),
                "a Service: its endpoints are the targets");
    }
}
