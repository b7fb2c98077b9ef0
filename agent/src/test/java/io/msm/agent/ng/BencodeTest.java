package io.msm.agent.ng;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BencodeTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void decodesTheNgExamples() throws Exception {
        Map<String, Object> d =
                Bencode.decodeDict(b("d7:command4:pinge"), 0, 17, Bencode.Limits.NG);
        assertEquals(Map.of("command", "ping"), d);
        Object v = Bencode.decode(b("d4:listl1:ai-42ee3:numi0e4:dictd1:x0:ee"));
        assertEquals(Map.of("list", List.of("a", -42L), "num", 0L, "dict", Map.of("x", "")), v);
    }

    @Test
    void roundTrips() throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", "ok");
        m.put("sdp", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n\u00ff");
        m.put("n", 12345678901L);
        m.put("l", List.of(1L, "two", List.of(), Map.of()));
        byte[] e = Bencode.encode(m);
        assertEquals(m, Bencode.decode(e));
        assertArrayEquals(e, Bencode.encode(Bencode.decode(e)));
    }

    @Test
    void refusesMalformedAndOverBoundInput() {
        for (String bad :
                new String[] {
                    "",
                    "d",
                    "i12",
                    "ie",
                    "i-0e",
                    "i01e",
                    "i99999999999999999999e",
                    "i9223372036854775808e",
                    "5:abc",
                    "01:a",
                    "x",
                    "d1:ai1ee1:x",
                    "di1ei2ee",
                    "d1:ai1e1:ai2ee",
                    "l",
                    "i1ei2e",
                    "-1:a",
                    "99999999999999999999:a"
                }) {
            assertThrows(
                    BencodeException.class,
                    () -> Bencode.decode(b(bad)),
                    () -> "'" + bad + "' must be refused");
        }
        String deep = "l".repeat(17) + "e".repeat(17);
        BencodeException e = assertThrows(BencodeException.class, () -> Bencode.decode(b(deep)));
        assertTrue(e.getMessage().contains("nesting deeper than 16"), e.getMessage());
        assertEquals(List.of(List.of()), decodeQuietly("llee"));
        byte[] big = new byte[70_000];
        Arrays.fill(big, (byte) 'l');
        e = assertThrows(BencodeException.class, () -> Bencode.decode(big));
        assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
        String many = "l" + "i1e".repeat(5000) + "e";
        e = assertThrows(BencodeException.class, () -> Bencode.decode(b(many)));
        assertTrue(e.getMessage().contains("more than 4096 items"), e.getMessage());
        assertThrows(
                BencodeException.class, () -> Bencode.decodeDict(b("le"), 0, 2, Bencode.Limits.NG));
    }

    private static Object decodeQuietly(String s) {
        try {
            return Bencode.decode(b(s));
        } catch (BencodeException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Seeded fuzzing, bounded: random bytes, and valid NG-like messages mutated (bytes flipped,
     * inserted, removed, truncated). The decoder ends in a value or a BencodeException — never
     * another exception, never a hang — and what it accepts encodes and decodes to itself.
     */
    @Test
    void fuzz() {
        Random r = new Random(0x6e67L);
        List<byte[]> seeds = new ArrayList<>();
        seeds.add(b("d7:command4:pinge"));
        seeds.add(
                b(
                        "d7:command5:offer3:sdp40:v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 9 RTP/AVP 0\r\n"
                                + "7:call-id3:abc8:from-tag1:x5:flagsl13:trust-addresse7:replacel6:origine"
                                + "9:directionl3:pub4:priveei1ei-7ee"));
        seeds.add(b("l" + "d1:ai1ee".repeat(20) + "e"));
        long deadline = System.nanoTime() + 20_000_000_000L;
        int accepted = 0;
        for (int n = 0; n < 200_000 && System.nanoTime() < deadline; n++) {
            byte[] in;
            if (n % 4 == 0) {
                in = new byte[r.nextInt(64)];
                for (int i = 0; i < in.length; i++) {
                    in[i] = (byte) "dlie0123456789:-x ".charAt(r.nextInt(18));
                }
            } else {
                in = mutate(seeds.get(r.nextInt(seeds.size())), r);
            }
            Object v;
            try {
                v = Bencode.decode(in);
            } catch (BencodeException e) {
                continue;
            } catch (RuntimeException e) {
                throw new AssertionError(
                        "not a BencodeException for " + new String(in, StandardCharsets.ISO_8859_1),
                        e);
            }
            accepted++;
            try {
                assertEquals(v, Bencode.decode(Bencode.encode(v)));
            } catch (BencodeException e) {
                throw new AssertionError("re-encoding is not bencode", e);
            }
        }
        assertTrue(accepted > 0, "some mutations stay valid");
    }

    private static byte[] mutate(byte[] seed, Random r) {
        List<Byte> b = new ArrayList<>();
        for (byte x : seed) {
            b.add(x);
        }
        int edits = 1 + r.nextInt(4);
        for (int k = 0; k < edits && !b.isEmpty(); k++) {
            int at = r.nextInt(b.size());
            switch (r.nextInt(4)) {
                case 0 -> b.set(at, (byte) r.nextInt(256));
                case 1 -> b.add(at, (byte) "dlie9:-0".charAt(r.nextInt(8)));
                case 2 -> b.remove(at);
                default -> b.subList(at, b.size()).clear();
            }
        }
        byte[] out = new byte[b.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }
}
