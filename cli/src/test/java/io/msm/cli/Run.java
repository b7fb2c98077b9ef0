package io.msm.cli;

import io.msm.cli.source.AgentProbe;
import io.msm.cli.source.Datapaths;
import io.msm.cli.source.Sources;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs msm in-process against fakes and keeps exit code, stdout and stderr. */
public record Run(int exit, String out, String err) {
    public static final AgentProbe AGENT_UP =
            (url, timeout) -> new AgentProbe.Health(true, 200, "ok", 2);
    public static final AgentProbe AGENT_DOWN =
            (url, timeout) -> new AgentProbe.Health(false, 0, "connection refused", 1);

    public static Run of(Datapaths datapaths, FakeHost host, AgentProbe agent, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code =
                Main.run(
                        new Sources(datapaths, host, agent),
                        new PrintWriter(out),
                        new PrintWriter(err),
                        args);
        return new Run(code, out.toString(), err.toString());
    }

    public static Run of(FakeDatapath dp, FakeHost host, String... args) {
        return of(dir -> dp, host, AGENT_UP, args);
    }

    public static Run of(FakeDatapath dp, String... args) {
        return of(dp, new FakeHost(), args);
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
}
