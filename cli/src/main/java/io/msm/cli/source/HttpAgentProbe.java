package io.msm.cli.source;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

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

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
