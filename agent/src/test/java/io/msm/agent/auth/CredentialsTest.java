package io.msm.agent.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CredentialsTest {
    @Test
    void linesWrittenForAUserAreReadBack() {
        List<String> lines = Credentials.lines("bob", "msm", "s3cret");
        Credentials c =
                Credentials.parse(
                        List.of("# users", "", lines.get(0), lines.get(1) + "  # bob's phone"),
                        "f");
        assertEquals(2, c.size());
        assertEquals(
                DigestAlgorithm.MD5.ha1("bob", "msm", "s3cret"),
                c.ha1("bob", "msm", DigestAlgorithm.MD5));
        assertEquals(
                DigestAlgorithm.SHA_256.ha1("bob", "msm", "s3cret"),
                c.ha1("bob", "msm", DigestAlgorithm.SHA_256));
        assertNull(c.ha1("bob", "other", DigestAlgorithm.MD5));
        assertNull(c.ha1("alice", "msm", DigestAlgorithm.MD5));
    }

    @Test
    void apachesHtdigestFormatIsMd5() {
        // htdigest -c f testrealm@host.com Mufasa with password "Circle Of Life"
        String ha1 = DigestAlgorithm.MD5.ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assertEquals("939e7578ed9e3c518a452acee763bce9", ha1);
        Credentials c =
                Credentials.parse(
                        List.of("Mufasa:testrealm@host.com:" + ha1.toUpperCase(Locale.ROOT)), "f");
        assertEquals(ha1, c.ha1("Mufasa", "testrealm@host.com", DigestAlgorithm.MD5));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "too few fields         | bob:msm                                                  | want user:realm",
                "bad user               | b o b:msm:939e7578ed9e3c518a452acee763bce9                | user 'b o b'",
                "short hash             | bob:msm:939e75                                            | 32 hex digits",
                "not hex                | bob:msm:zz9e7578ed9e3c518a452acee763bce9                  | 32 hex digits",
                "unknown algorithm      | bob:msm:SHA-1:939e7578ed9e3c518a452acee763bce9            | not supported",
                "sha-256 of md5 length  | bob:msm:SHA-256:939e7578ed9e3c518a452acee763bce9          | 64 hex digits",
                "quote in realm         | bob:m\"sm:939e7578ed9e3c518a452acee763bce9                | realm",
            })
    void malformedLinesNameTheFileLineAndReason(String why, String line, String reason) {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Credentials.parse(List.of("# first", line), "users.txt"),
                        why);
        assertTrue(e.getMessage().startsWith("users.txt line 2: "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void aSecondEntryForTheSameUserRealmAndAlgorithmIsAnError() {
        String l = Credentials.lines("bob", "msm", "x").get(0);
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> Credentials.parse(List.of(l, l), "f"));
        assertTrue(e.getMessage().contains("second MD5 entry"), e.getMessage());
    }
}
