package io.msm.cli.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** GET on the agent's health endpoint with a short timeout. */
public final class HttpAgentProbe implements AgentProbe {
    @Override
    public Health probe(URI url, Duration timeout) {
        long t0 = System.nanoTime();
        HttpClient client =
                HttpClient.newBuilder()
                        .connectTimeout(timeout)
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .proxy(
                                HttpClient.Builder
                                        .NO_PROXY) // the agent is local: never through a proxy
                        .build();
        HttpRequest req = HttpRequest.newBuilder(url).timeout(timeout).GET().build();
        try {
            HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
            String body = r.body() == null ? "" : r.body().strip();
            int nl = body.indexOf('\n');
            String first = nl < 0 ? body : body.substring(0, nl);
            if (first.length() > 120) {
                first = first.substring(0, 120) + "…";
            }
            boolean ok = r.statusCode() / 100 == 2;
            return new Health(ok, r.statusCode(), first, ms(t0));
        } catch (HttpTimeoutException e) {
            return new Health(false, 0, "no answer within " + timeout.toMillis() + " ms", ms(t0));
        } catch (ConnectException e) {
            return new Health(
                    false,
                    0,
                    "connection refused (msm-agent not running, or listening elsewhere)",
                    ms(t0));
        } catch (IOException e) {
            return new Health(
                    false,
                    0,
                    e.getClass().getSimpleName()
                            + (e.getMessage() != null ? ": " + e.getMessage() : ""),
                    ms(t0));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Health(false, 0, "interrupted", ms(t0));
        } catch (IllegalArgumentException e) {
            return new Health(false, 0, "bad URL " + url + ": " + e.getMessage(), ms(t0));
        }
    }

    /** The /tree endpoint next to the health endpoint {@code url}. */
    static URI treeUrl(URI url) {
        return url.resolve("/tree");
    }

    @Override
    public Tree tree(URI url, Duration timeout) {
        URI at;
        try {
            at = treeUrl(url);
        } catch (IllegalArgumentException e) {
            return Tree.notRead("bad URL " + url + ": " + e.getMessage());
        }
        HttpRequest req = HttpRequest.newBuilder(at).timeout(timeout).GET().build();
        try {
            HttpResponse<String> r =
                    client(timeout).send(req, HttpResponse.BodyHandlers.ofString());
            return parseTree(r.statusCode(), r.body(), at);
        } catch (HttpTimeoutException e) {
            return Tree.notRead("no answer within " + timeout.toMillis() + " ms from " + at);
        } catch (IOException e) {
            return Tree.notRead(at + ": " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Tree.notRead("interrupted");
        }
    }

    /** The answer of /tree, or why it says nothing. */
    static Tree parseTree(int status, String body, URI at) {
        if (status == 401 || status == 403) {
            return Tree.notRead(
                    "HTTP "
                            + status
                            + " from "
                            + at
                            + ": the agent serves /tree to http.private-from (ask on the node) or "
                            + "with its http.token-file token");
        }
        if (status == 404) {
            return Tree.notRead("the agent at " + at + " has no /tree (older than this msm)");
        }
        if (status / 100 != 2) {
            return Tree.notRead("HTTP " + status + " from " + at);
        }
        try {
            JsonNode edges = JSON.readTree(body).path("edges");
            if (!edges.isArray()) {
                return Tree.notRead("no \"edges\" array in the answer of " + at);
            }
            List<Edge> out = new ArrayList<>();
            for (JsonNode e : edges) {
                out.add(
                        new Edge(
                                e.path("direction").asText(),
                                e.path("peer").asText(),
                                e.path("path").asText(),
                                e.path("sessions").asLong(),
                                e.path("bytes").asLong(-1)));
            }
            return new Tree(List.copyOf(out), null);
        } catch (IOException e) {
            return Tree.notRead("not JSON from " + at + ": " + e.getMessage());
        }
    }

    private static HttpClient client(Duration timeout) {
        return HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(HttpClient.Builder.NO_PROXY) // the agent is local: never through a proxy
                .build();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
