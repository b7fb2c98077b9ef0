package io.msm.agent.sip.transport;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM certificates and private keys as openssl writes them, read with the JDK alone: certificates
 * ({@code BEGIN CERTIFICATE}), keys in PKCS#8 ({@code BEGIN PRIVATE KEY}: openssl 3's default, RSA,
 * EC, Ed25519), PKCS#1 ({@code BEGIN RSA PRIVATE KEY}: {@code openssl genrsa -traditional}) and
 * SEC1 ({@code BEGIN EC PRIVATE KEY}: {@code openssl ecparam -genkey}); the last two are re-wrapped
 * as PKCS#8. Encrypted keys are refused with what to do. Every failure is an {@link
 * IllegalArgumentException} whose message says what is wrong with the file.
 */
final class Pem {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----", Pattern.DOTALL);
    private static final byte[] RSA_OID = {
        0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01
    };
    private static final byte[] EC_OID = {
        0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01
    };

    private Pem() {}

    /** The certificates of a PEM file, in file order (leaf first for a chain). */
    static List<X509Certificate> certificates(Path file) {
        String text = read(file);
        if (!text.contains("-----BEGIN CERTIFICATE-----")) {
            throw new IllegalArgumentException(
                    "no PEM certificate (-----BEGIN CERTIFICATE-----) in " + file);
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> out = new ArrayList<>();
            Matcher m = BLOCK.matcher(text);
            while (m.find()) {
                if (m.group(1).equals("CERTIFICATE")) {
                    out.add(
                            (X509Certificate)
                                    cf.generateCertificate(
                                            new ByteArrayInputStream(base64(m.group(2), file))));
                }
            }
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(
                    "a certificate in " + file + " does not parse: " + e.getMessage(), e);
        }
    }

    /** The private key of a PEM file (the first key block; parameter blocks are skipped). */
    static PrivateKey privateKey(Path file) {
        String text = read(file);
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            String body = m.group(2);
            if (type.equals("ENCRYPTED PRIVATE KEY") || body.contains("ENCRYPTED")) {
                throw new IllegalArgumentException(
                        file
                                + " holds an encrypted key: msm reads unencrypted keys (protect the file "
                                + "instead; openssl pkey -in KEY -out PLAIN decrypts it)");
            }
            switch (type) {
                case "PRIVATE KEY":
                    return pkcs8(base64(body, file), file);
                case "RSA PRIVATE KEY":
                    return pkcs8(
                            wrap(0, seq(RSA_OID, new byte[] {0x05, 0x00}), base64(body, file)),
                            file);
                case "EC PRIVATE KEY":
                    byte[] sec1 = base64(body, file);
                    return pkcs8(wrap(0, seq(EC_OID, curveOf(sec1, file)), sec1), file);
                default:
                    // EC PARAMETERS, certificates in the same file: skip
            }
        }
        throw new IllegalArgumentException(
                "no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE "
                        + "KEY) in "
                        + file);
    }

    /**
     * The key belongs to the certificate: a signature made with it verifies with the cert's key.
     */
    static void checkPair(PrivateKey key, X509Certificate cert, Path keyFile, Path certFile) {
        PublicKey pub = cert.getPublicKey();
        String alg =
                switch (key.getAlgorithm()) {
                    case "RSA" -> "SHA256withRSA";
                    case "EC" -> "SHA256withECDSA";
                    case "Ed25519", "EdDSA" -> "Ed25519";
                    default -> null;
                };
        if (alg == null) {
            return; // no check for other algorithms: the handshake will tell
        }
        byte[] probe = "msm key pair check".getBytes(StandardCharsets.US_ASCII);
        boolean ok;
        try {
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(probe);
            ok = v.verify(sig);
        } catch (GeneralSecurityException e) {
            ok = false;
        }
        if (!ok) {
            throw new IllegalArgumentException(
                    "the key in "
                            + keyFile
                            + " does not belong to the certificate in "
                            + certFile
                            + " ("
                            + cert.getSubjectX500Principal().getName()
                            + ")");
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e, e);
        }
    }

    private static byte[] base64(String body, Path file) {
        try {
            return Base64.getMimeDecoder().decode(body.replaceAll("(?m)^[A-Za-z-]+:.*$", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad base64 in " + file, e);
        }
    }

    private static PrivateKey pkcs8(byte[] der, Path file) {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String alg : new String[] {"RSA", "EC", "Ed25519", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException(
                "the private key in "
                        + file
                        + " is not an RSA, EC or Ed25519 key the JDK can read");
    }

    // ------------------------------------------------------------------ a little DER

    /** SEC1 ECPrivateKey: the named curve OID in its [0] parameters. */
    private static byte[] curveOf(byte[] sec1, Path file) {
        int[] pos = {0};
        try {
            expect(sec1, pos, 0x30);
            int end = length(sec1, pos) + pos[0];
            skip(sec1, pos); // version
            skip(sec1, pos); // private key octets
            while (pos[0] < end) {
                int tag = sec1[pos[0]] & 0xff;
                if (tag == 0xa0) {
                    pos[0]++;
                    int len = length(sec1, pos);
                    byte[] oid = new byte[len];
                    System.arraycopy(sec1, pos[0], oid, 0, len);
                    if (oid[0] != 0x06) {
                        break;
                    }
                    return oid;
                }
                skip(sec1, pos);
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            // fall through
        }
        throw new IllegalArgumentException(
                "the EC key in "
                        + file
                        + " names no curve (convert it: openssl pkcs8 -topk8 -nocrypt -in KEY)");
    }

    private static void expect(byte[] b, int[] pos, int tag) {
        if ((b[pos[0]++] & 0xff) != tag) {
            throw new ArrayIndexOutOfBoundsException("unexpected DER tag");
        }
    }

    private static void skip(byte[] b, int[] pos) {
        pos[0]++;
        int len = length(b, pos);
        pos[0] += len;
    }

    private static int length(byte[] b, int[] pos) {
        int first = b[pos[0]++] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int n = first & 0x7f;
        int len = 0;
        for (int i = 0; i < n; i++) {
            len = (len << 8) | (b[pos[0]++] & 0xff);
        }
        return len;
    }

    /** PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER version, algorithm, OCTET STRING key }. */
    private static byte[] wrap(int version, byte[] algorithm, byte[] key) {
        return tlv(
                0x30, concat(new byte[] {0x02, 0x01, (byte) version}, algorithm, tlv(0x04, key)));
    }

    private static byte[] seq(byte[]... parts) {
        return tlv(0x30, concat(parts));
    }

    private static byte[] tlv(int tag, byte[] value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int len = value.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        out.writeBytes(value);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
