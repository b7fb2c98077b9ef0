package io.msm.agent.sip.transport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** Certificates for the TLS tests, made with the openssl command line in a temporary directory. */
public final class TestCerts {
    private TestCerts() {}

    /** Run openssl in dir; fails the test with its output if it fails. */
    public static void openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p =
                new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }

    /** A CA (name.crt, name.key) in dir. */
    public static void ca(Path dir, String name) throws Exception {
        openssl(
                dir,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                name + ".key",
                "-out",
                name + ".crt",
                "-days",
                "2",
                "-subj",
                "/CN=" + name,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign");
    }

    /**
     * A leaf certificate for the IP addresses ips, signed by ca: name.crt (leaf then CA) and
     * name.key; keyKind: "ec" (SEC1, openssl ecparam), "rsa1" (PKCS#1, genrsa -traditional), "rsa8"
     * and "ec8" (PKCS#8).
     */
    public static void leaf(Path dir, String ca, String name, String keyKind, String... ips)
            throws Exception {
        switch (keyKind) {
            case "ec" ->
                    openssl(
                            dir,
                            "ecparam",
                            "-name",
                            "prime256v1",
                            "-genkey",
                            "-out",
                            name + ".key");
            case "ec8" ->
                    openssl(
                            dir,
                            "genpkey",
                            "-algorithm",
                            "EC",
                            "-pkeyopt",
                            "ec_paramgen_curve:P-256",
                            "-out",
                            name + ".key");
            case "rsa1" -> openssl(dir, "genrsa", "-traditional", "-out", name + ".key", "2048");
            case "rsa8" ->
                    openssl(
                            dir,
                            "genpkey",
                            "-algorithm",
                            "RSA",
                            "-pkeyopt",
                            "rsa_keygen_bits:2048",
                            "-out",
                            name + ".key");
            default -> throw new IllegalArgumentException(keyKind);
        }
        StringBuilder san = new StringBuilder("subjectAltName=");
        for (int i = 0; i < ips.length; i++) {
            san.append(i == 0 ? "" : ",").append("IP:").append(ips[i]);
        }
        Files.writeString(dir.resolve(name + ".ext"), san + "\n");
        openssl(
                dir,
                "req",
                "-new",
                "-key",
                name + ".key",
                "-out",
                name + ".csr",
                "-subj",
                "/CN=" + name);
        openssl(
                dir,
                "x509",
                "-req",
                "-in",
                name + ".csr",
                "-CA",
                ca + ".crt",
                "-CAkey",
                ca + ".key",
                "-CAcreateserial",
                "-out",
                name + ".leaf",
                "-days",
                "2",
                "-extfile",
                name + ".ext");
        Files.writeString(
                dir.resolve(name + ".crt"),
                Files.readString(dir.resolve(name + ".leaf"))
                        + Files.readString(dir.resolve(ca + ".crt")));
    }

    /** A client SSLContext trusting only the CA in caCrt. */
    public static SSLContext trusting(Path caCrt) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(caCrt)) {
            ks.setCertificateEntry(
                    "ca",
                    (X509Certificate)
                            CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(null, tmf.getTrustManagers(), null);
        return c;
    }
}
