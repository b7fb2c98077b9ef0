package io.msm.cli.games;

import io.msm.bpf.maps.Addr;
import io.msm.cli.MsmCommand;
import io.msm.cli.MsmVersion;
import io.msm.cli.source.DatapathView;
import io.msm.cli.source.DatapathView.GameSessionView;
import java.io.PrintWriter;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code msm games}: the game sessions of the kernel's UDP services and their chosen backends. */
@Command(
        name = "games",
        mixinStandardHelpOptions = true,
        versionProvider = MsmVersion.class,
        description = {
            "List the game sessions the kernel routes: per UDP service (addr:port) each client session — "
                    + "keyed by address, KCP conversation id or routing token — with the backend it is "
                    + "pinned to, the client's current address (and its first one, which the backend sees, "
                    + "when its NAT changed it), packets each way and address changes.",
            "The tables are msm-agent's: it writes them from its config's game: services and, with "
                    + "kubernetes.gateway-api, from Gateway API UDPRoutes; this command only reads the "
                    + "pinned maps, so it works while the agent runs (and after it stopped: sessions keep "
                    + "forwarding). Per-route and per-backend counters: msm_game_* on the agent's /metrics."
        })
public final class GamesCommand implements Callable<Integer> {
    @ParentCommand MsmCommand msm;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<GameSessionView> sessions;
        try (DatapathView view = msm.open()) {
            sessions = view.gameSessions();
        }
        table(out, sessions);
        out.flush();
        return 0;
    }

    static void table(PrintWriter out, List<GameSessionView> sessions) {
        if (sessions.isEmpty()) {
            out.println("no game sessions");
            return;
        }
        String fmt = "%-21s  %-18s  %-21s  %-21s  %10s  %10s  %7s%n";
        out.printf(
                Locale.ROOT,
                fmt,
                "SERVICE",
                "SESSION",
                "CLIENT",
                "BACKEND",
                "PKTS_IN",
                "PKTS_OUT",
                "REBINDS");
        List<GameSessionView> sorted =
                sessions.stream()
                        .sorted(
                                Comparator.comparing(GameSessionView::service)
                                        .thenComparing(GameSessionView::backend))
                        .toList();
        for (GameSessionView v : sorted) {
            var s = v.session();
            String client = Addr.hostPort(s.curAddr(), s.curPort());
            if (s.rebinds() > 0) {
                client += " (first " + Addr.hostPort(s.origAddr(), s.origPort()) + ")";
            }
            out.printf(
                    Locale.ROOT,
                    fmt,
                    v.service(),
                    v.key().describe(),
                    client,
                    v.backend(),
                    s.packetsIn(),
                    s.packetsOut(),
                    s.rebinds());
        }
    }
}
