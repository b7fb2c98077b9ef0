package io.msm.cli.calls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.cli.CliFailure;
import io.msm.cli.ExitCode;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where the call list comes from: msm-agent's /calls (parties, state, the relays' own counters), or
 * — when the agent does not answer — the SIP state file it keeps for restarts (answered calls only,
 * no counters). The kernel's counters are joined in by {@link CallsCommand}.
 */
final class CallSource {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Bound on what is read from the agent or the file. */
    static final int MAX_BYTES = 64 << 20;

    /**
     * @param calls the "calls" array
     * @param origin where they came from, for the footer
     * @param live true: from the running agent (with its counters); false: from the state file
     */
    record Result(JsonNode calls, String origin, boolean live, long nowMs) {}

    private CallSource() {}

    static Result load(URI agent, String token, Path stateFile, Duration timeout) {
        String agentError;
        try {
            JsonNode root = fetch(agent, token, timeout);
            JsonNode calls = root.path("calls");
            if (!calls.isArray()) {
                throw new IOException("no \"calls\" array in the answer");
            }
            return new Result(
                    calls,
                    agent.toString(),
                    true,
                    root.path("now_ms").asLong(System.currentTimeMillis()));
        } catch (IOException e) {
            agentError = e.getMessage();
        }
        try {
            byte[] b = readBounded(Files.newInputStream(stateFile));
            JsonNode root = JSON.readTree(b);
            JsonNode calls = root.path("calls");
            if (!calls.isArray()) {
                throw new CliFailure(
                        ExitCode.FAILURE,
                        stateFile + " is not an msm SIP state file (no \"calls\" array)");
            }
            return new Result(
                    calls,
                    stateFile + " (msm-agent did not answer: " + agentError + ")",
                    false,
                    System.currentTimeMillis());
        } catch (NoSuchFileException e) {
            throw new CliFailure(
                    ExitCode.FAILURE,
                    "msm-agent did not answer on "
                            + agent
                            + " ("
                            + agentError
                            + ") and there is no SIP state file at "
                            + stateFile
                            + "; is msm-agent running? "
                            + "(--agent URL, --state-file FILE)");
        } catch (IOException e) {
            throw new CliFailure(
                    ExitCode.FAILURE,
                    "msm-agent did not answer on "
                            + agent
                            + " ("
                            + agentError
                            + ") and the SIP state file "
                            + stateFile
                            + " cannot be read: "
                            + e.getMessage(),
                    e);
        }
    }

    /** GET on the calling thread (it may have entered a network namespace; no helper threads). */
    static JsonNode fetch(URI url, String token, Duration timeout) throws IOException {
        HttpURLConnection c;
        try {
            c = (HttpURLConnection) url.toURL().openConnection(Proxy.NO_PROXY);
        } catch (IllegalArgumentException e) {
            throw new IOException("bad URL " + url + ": " + e.getMessage());
        }
        c.setConnectTimeout((int) timeout.toMillis());
        c.setReadTimeout((int) timeout.toMillis() * 3);
        if (token != null) {
            c.setRequestProperty("Authorization", "Bearer " + token);
        }
        try {
            int code = c.getResponseCode();
            if (code == 401 || code == 403) {
                throw new IOException(
                        "HTTP "
                                + code
                                + " from "
                                + url
                                + ": /calls shows personal data; the agent "
                                + (code == 401
                                        ? "wants its http.token-file token (--token-file FILE)"
                                        : "serves it to http.private-from only (ask from the node, or use --token-file FILE)"));
            }
            if (code != 200) {
                throw new IOException("HTTP " + code + " from " + url);
            }
            return JSON.readTree(
                    new String(readBounded(c.getInputStream()), StandardCharsets.UTF_8));
        } catch (ConnectException e) {
            throw new IOException("connection refused");
        } catch (SocketTimeoutException e) {
            throw new IOException("no answer within " + timeout.toMillis() + " ms");
        } finally {
            c.disconnect();
        }
    }

    private static byte[] readBounded(InputStream in) throws IOException {
        try (in) {
            byte[] b = in.readNBytes(MAX_BYTES + 1);
            if (b.length > MAX_BYTES) {
                throw new IOException("more than " + (MAX_BYTES >> 20) + " MiB");
            }
            return b;
        }
    }
}
