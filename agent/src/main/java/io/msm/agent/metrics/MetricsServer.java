package io.msm.agent.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * HTTP on --metrics-listen: /metrics (Prometheus text format), /healthz
 * (the agent is alive), /readyz (datapath attached and listeners up), and
 * JSON endpoints services add (e.g. /calls of the SIP proxy).
 */
public final class MetricsServer implements AutoCloseable {
    private final HttpServer server;

    public MetricsServer(InetSocketAddress listen, PrometheusMeterRegistry registry, Runnable beforeScrape,
                         BooleanSupplier healthy, BooleanSupplier ready) throws IOException {
        this(listen, registry, beforeScrape, healthy, ready, Map.of());
    }

    /** @param json more endpoints: path -> JSON document, built on each GET */
    public MetricsServer(InetSocketAddress listen, PrometheusMeterRegistry registry, Runnable beforeScrape,
                         BooleanSupplier healthy, BooleanSupplier ready, Map<String, Supplier<String>> json)
            throws IOException {
        server = HttpServer.create(listen, 64);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "msm-metrics-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/metrics", ex -> {
            beforeScrape.run();
            respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
        });
        server.createContext("/healthz", ex -> {
            boolean ok = healthy.getAsBoolean();
            respond(ex, ok ? 200 : 503, "text/plain", ok ? "ok\n" : "unhealthy\n");
        });
        server.createContext("/readyz", ex -> {
            boolean ok = ready.getAsBoolean();
            respond(ex, ok ? 200 : 503, "text/plain", ok ? "ready\n" : "not ready\n");
        });
        for (Map.Entry<String, Supplier<String>> e : json.entrySet()) {
            Supplier<String> body = e.getValue();
            server.createContext(e.getKey(), ex -> respond(ex, 200, "application/json", body.get() + "\n"));
        }
        String others = json.isEmpty() ? "" : ", " + String.join(", ", json.keySet());
        server.createContext("/", ex -> respond(ex, 404, "text/plain", "try /metrics, /healthz or /readyz" + others + "\n"));
        server.start();
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    private static void respond(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        if ("HEAD".equals(ex.getRequestMethod())) {
            ex.sendResponseHeaders(code, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
