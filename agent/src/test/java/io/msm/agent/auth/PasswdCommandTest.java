package io.msm.agent.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class PasswdCommandTest {
    record Run(int code, String out, String err) {}

    static Run run(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PasswdCommand cmd =
                new PasswdCommand(
                        new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
        int code = new CommandLine(cmd).execute(args);
        return new Run(
                code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theLinesItPrintsLetTheUserIn() {
        Run r = run("s3cret\n", "bob", "--realm", "cams");
        assertEquals(0, r.code(), r.err());
        Credentials c = Credentials.parse(List.of(r.out().split("\n")), "out");
        assertEquals(
                DigestAlgorithm.SHA_256.ha1("bob", "cams", "s3cret"),
                c.ha1("bob", "cams", DigestAlgorithm.SHA_256));
        assertEquals(
                DigestAlgorithm.MD5.ha1("bob", "cams", "s3cret"),
                c.ha1("bob", "cams", DigestAlgorithm.MD5));
        assertTrue(!r.out().contains("s3cret"), "the password is not printed");
    }

    @Test
    void noPasswordOrABadNameIsAnErrorThatSaysSo() {
        Run empty = run("", "bob");
        assertEquals(1, empty.code());
        assertTrue(empty.err().contains("no password"), empty.err());
        Run bad = run("pw\n", "b:ob");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("user"), bad.err());
    }
}
