package io.msm.agent.sip.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The key and certificate formats openssl writes, read by {@link Pem}. */
class PemTest {
    @TempDir Path dir;

    @Test
    void readsTheKeyFormatsOpensslWrites() throws Exception {
        TestCerts.ca(dir, "ca");
        String[][] kinds = {
            {"ec", "EC", "BEGIN EC PRIVATE KEY"},
            {"ec8", "EC", "BEGIN PRIVATE KEY"},
            {"rsa1", "RSA", "BEGIN RSA PRIVATE KEY"},
            {"rsa8", "RSA", "BEGIN PRIVATE KEY"}
        };
        for (String[] k : kinds) {
            TestCerts.leaf(dir, "ca", k[0], k[0], "127.0.0.1");
            Path key = dir.resolve(k[0] + ".key");
            assertTrue(Files.readString(key).contains(k[2]), k[0] + " is " + k[2]);
            PrivateKey pk = Pem.privateKey(key);
            assertEquals(k[1], pk.getAlgorithm(), k[0]);
            var chain = Pem.certificates(dir.resolve(k[0] + ".crt"));
            assertEquals(2, chain.size(), "leaf and CA");
            Pem.checkPair(pk, chain.get(0), key, dir.resolve(k[0] + ".crt"));
        }
        // the CA's key (PKCS#8 from req -newkey) does not belong to the leaf
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                Pem.checkPair(
                                        Pem.privateKey(dir.resolve("ca.key")),
                                        Pem.certificates(dir.resolve("ec.crt")).get(0),
                                        dir.resolve("ca.key"),
                                        dir.resolve("ec.crt")));
        assertTrue(e.getMessage().contains("does not belong"), e.getMessage());
    }

    @Test
    void refusesEncryptedKeysAndNonPem() throws Exception {
        TestCerts.openssl(
                dir,
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-aes256",
                "-pass",
                "pass:x",
                "-out",
                "enc.key");
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Pem.privateKey(dir.resolve("enc.key")));
        assertTrue(e.getMessage().contains("encrypted"), e.getMessage());
        Files.writeString(dir.resolve("junk.crt"), "not a certificate\n");
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Pem.certificates(dir.resolve("junk.crt")));
        assertTrue(e.getMessage().contains("no PEM certificate"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Pem.privateKey(dir.resolve("junk.crt")));
        assertTrue(e.getMessage().contains("no PEM private key"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Pem.privateKey(dir.resolve("missing.key")));
        assertTrue(e.getMessage().contains("cannot read"), e.getMessage());
    }
}
