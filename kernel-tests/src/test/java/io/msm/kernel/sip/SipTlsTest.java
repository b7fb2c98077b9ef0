package io.msm.kernel.sip;

import static io.msm.kernel.sip.SipBed.NODE_UAC;
import static io.msm.kernel.sip.SipBed.NODE_UAS;
import static io.msm.kernel.sip.SipBed.UAC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Sh;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A call whose caller signals over TLS (msm's sip.tls listener, a certificate openssl makes here)
 * and whose media is anchored in the kernel. sipp is built without TLS, so the caller's sipp talks
 * TCP to a small bridge in its own namespace that carries the connection over TLS to msm, verifying
 * msm's certificate against the test CA and its IP address; on the wire between the caller's
 * namespace and the node there is only TLS. msm record-routes the caller's side with transport=tls,
 * the ACK and BYE come back over the TLS connection, and both media directions are relayed by the
 * kernel.
 */
@KernelTest
@Tag("vm-slow")
class SipTlsTest {
    static void openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p =
                new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + ": " + out);
        }
    }

    @Test
    void aTlsCallersMediaIsAnchoredInTheKernel() throws Exception {
        Path pki = Files.createTempDirectory("msm-sip-tls");
        Process bridge = null;
        try {
            openssl(
                    pki,
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=test-ca",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE");
            openssl(pki, "ecparam", "-name", "prime256v1", "-genkey", "-out", "tls.key");
            openssl(pki, "req", "-new", "-key", "tls.key", "-out", "tls.csr", "-subj", "/CN=msm");
            Files.writeString(
                    pki.resolve("san.ext"),
                    "subjectAltName=IP:" + NODE_UAC + ",IP:" + NODE_UAS + "\n");
            openssl(
                    pki,
                    "x509",
                    "-req",
                    "-in",
                    "tls.csr",
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    "tls.crt",
                    "-days",
                    "2",
                    "-extfile",
                    "san.ext");
            try (SipBed bed =
                    new SipBed(
                            "  rtp-timeout: 30s\n  tls: {listen: 0.0.0.0:5061, cert: "
                                    + pki.resolve("tls.crt")
                                    + ", key: "
                                    + pki.resolve("tls.key")
                                    + "}")) {
                bed.startAgent();
                bed.register("bob");
                Path script = bed.work.resolve("tls_bridge.py");
                try (InputStream in = SipTlsTest.class.getResourceAsStream("/sip/tls_bridge.py")) {
                    Files.copy(in, script);
                }
                Path bridgeOut = bed.work.resolve("bridge.log");
                bridge =
                        new ProcessBuilder(
                                        "ip",
                                        "netns",
                                        "exec",
                                        bed.uac.name(),
                                        "python3",
                                        script.toString(),
                                        UAC,
                                        "5090",
                                        NODE_UAC,
                                        "5061",
                                        pki.resolve("ca.crt").toString())
                                .redirectErrorStream(true)
                                .redirectOutput(bridgeOut.toFile())
                                .start();
                SipBed.waitFor(
                        () -> read(bridgeOut).contains("listening"),
                        10_000,
                        "the bridge listening");

                SipBed.Counter atUas = bed.counter(bed.uas, SipBed.UAS, SipBed.UAS_RTP, false);
                Process callee = bed.uas(1);
                Thread.sleep(300);
                // the Request-URI names msm's TLS address; sipp's connection goes to the bridge
                Process caller =
                        bed.sipp(
                                bed.uac,
                                NODE_UAC + ":5061",
                                "-rsa",
                                UAC + ":5090",
                                "-sf",
                                "uac.xml",
                                "-s",
                                "bob",
                                "-i",
                                UAC,
                                "-p",
                                "5061",
                                "-mi",
                                UAC,
                                "-mp",
                                Integer.toString(SipBed.UAC_RTP),
                                "-key",
                                "pcap",
                                SipBed.pcap(),
                                "-d",
                                "4000",
                                "-m",
                                "1",
                                "-l",
                                "1",
                                "-r",
                                "1",
                                "-t",
                                "t1");
                bed.awaitCalls(
                        c ->
                                c.size() == 1
                                        && c.get(0).path("state").asText().equals("answered")
                                        && c.get(0)
                                                        .path("streams")
                                                        .get(0)
                                                        .path("caller_to_callee")
                                                        .path("packets")
                                                        .asLong()
                                                > 20,
                        15_000,
                        "the call answered, media flowing\n" + read(bridgeOut));
                JsonNode call = bed.calls().get(0);
                JsonNode stream = call.path("streams").get(0);
                assertEquals(
                        "kernel",
                        stream.path("caller_to_callee").path("served_by").asText(),
                        call.toString());
                assertEquals(
                        "kernel",
                        stream.path("callee_to_caller").path("served_by").asText(),
                        call.toString());
                assertEquals(
                        0,
                        bed.await(caller, 30_000),
                        "the TLS caller's call completed\n" + bed.sippLogs() + read(bridgeOut));
                assertEquals(0, bed.await(callee, 10_000), bed.sippLogs());
                bed.awaitCalls(JsonNode::isEmpty, 5000, "the call ended by the BYE over TLS");
                Thread.sleep(200);
                double relayed =
                        bed.metric(
                                "msm_sip_relayed_packets_total", "direction", "caller_to_callee");
                String log = read(bridgeOut);
                System.out.println(
                        "SipTlsTest (kernel): relayed "
                                + relayed
                                + ", at the callee "
                                + atUas.total.get()
                                + "; bridge: "
                                + log.replace('\n', ' '));
                assertTrue(
                        log.contains("tls TLSv1.3 to " + NODE_UAC + ":5061"),
                        "msm's certificate verified, TLS 1.3: " + log);
                assertTrue(relayed >= 50, "media relayed: " + relayed);
                assertEquals(
                        (long) relayed,
                        atUas.total.get(),
                        "every packet through the kernel group reached the callee");
                assertEquals(1.0, bed.metric("msm_sip_calls_ended_total", "reason", "bye"));
                assertEquals(0, bed.fanoutGroups());
            }
        } finally {
            if (bridge != null) {
                for (ProcessHandle h : bridge.descendants().toList()) {
                    Sh.exec("kill", "-9", Long.toString(h.pid()));
                }
                Sh.exec("kill", "-9", Long.toString(bridge.pid()));
                bridge.waitFor(5, TimeUnit.SECONDS);
            }
            try (var files = Files.walk(pki)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
