package io.msm.agent.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AuthHeaderTest {
    @Test
    void digestParametersAreReadQuotedOrNot() {
        AuthHeader h =
                AuthHeader.parse(
                        "Digest username=\"bob\",realm=\"msm\", nonce=\"a\\\"b\", uri=\"sip:x@y;transport=tcp\","
                                + " response=\"00ff\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c\"");
        assertEquals("digest", h.scheme());
        assertEquals("bob", h.param("username"));
        assertEquals("a\"b", h.param("nonce"));
        assertEquals("sip:x@y;transport=tcp", h.param("uri"));
        assertEquals("SHA-256", h.param("algorithm"));
        assertEquals("00000001", h.param("nc"));
    }

    @Test
    void basicCarriesItsToken() {
        AuthHeader h = AuthHeader.parse("Basic Ym9iOnMzY3JldA==");
        assertEquals("basic", h.scheme());
        assertEquals("Ym9iOnMzY3JldA==", h.token68());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "no scheme              | =abc",
                "parameter without '='  | Digest username",
                "empty value            | Digest username=",
                "unterminated quote     | Digest username=\"bob",
                "duplicate parameter    | Digest nonce=a, nonce=b",
                "missing comma          | Digest a=b c=d",
                "Basic not base64       | Basic a b",
            })
    void malformedCredentialsAreRefusedWithAReason(String why, String value) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> AuthHeader.parse(value), why);
        assertTrue(!e.getMessage().isBlank(), why);
    }

    @Test
    void sizeAndParameterCountAreBounded() {
        assertThrows(
                IllegalArgumentException.class,
                () -> AuthHeader.parse("Digest a=\"" + "x".repeat(5000) + "\""));
        StringBuilder many = new StringBuilder("Digest ");
        for (int i = 0; i < 40; i++) {
            many.append(i == 0 ? "" : ", ").append("p").append(i).append("=v");
        }
        assertThrows(IllegalArgumentException.class, () -> AuthHeader.parse(many.toString()));
        assertThrows(IllegalArgumentException.class, () -> AuthHeader.parse(null));
    }

    @Test
    void quotingEscapesQuotesAndBackslashes() {
        String q = AuthHeader.quote("a\"b\\c");
        assertEquals("\"a\\\"b\\\\c\"", q);
        assertEquals("a\"b\\c", AuthHeader.parse("Digest x=" + q).param("x"));
    }
}
