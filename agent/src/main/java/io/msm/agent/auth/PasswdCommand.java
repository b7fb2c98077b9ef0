package io.msm.agent.auth;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code msm-agent passwd USER}: the users-file lines for a user, from a password read without
 * echo.
 */
@Command(
        name = "passwd",
        mixinStandardHelpOptions = true,
        description = {
            "Print the users-file lines (MD5 and SHA-256 HA1 hashes) for USER; append them to the file "
                    + "named by rtsp.users-file / sip.users-file. The password is read from the terminal without echo, "
                    + "or as the first line of standard input (echo \"$PW\" | msm-agent passwd bob).",
            "The password itself is stored nowhere."
        })
public final class PasswdCommand implements Callable<Integer> {
    @Parameters(
            index = "0",
            paramLabel = "USER",
            description = "user name (letters, digits and ._~!$&'()*+,;=%@-)")
    String user;

    @Option(
            names = "--realm",
            paramLabel = "REALM",
            description = "the realm msm challenges with (default: ${DEFAULT-VALUE})")
    String realm = "msm";

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;

    public PasswdCommand() {
        this(System.in, System.out, System.err);
    }

    PasswdCommand(InputStream in, PrintStream out, PrintStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
    }

    @Override
    @SuppressWarnings(
            "SystemConsoleNull") // built for 17, where no console means stdin is not a terminal
    public Integer call() throws IOException {
        String password;
        Console console = System.console();
        if (console != null && in == System.in) {
            char[] a = console.readPassword("password for %s: ", user);
            char[] b = console.readPassword("again: ");
            if (a == null || b == null || !new String(a).equals(new String(b))) {
                err.println("msm-agent passwd: the passwords differ; nothing written");
                return 1;
            }
            password = new String(a);
        } else {
            password =
                    new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))
                            .readLine();
        }
        if (password == null || password.isEmpty()) {
            err.println(
                    "msm-agent passwd: no password given (type it, or pipe it in as the first line)");
            return 1;
        }
        try {
            for (String line : Credentials.lines(user, realm, password)) {
                out.println(line);
            }
        } catch (IllegalArgumentException e) {
            err.println("msm-agent passwd: " + e.getMessage());
            return 2;
        }
        return 0;
    }
}
