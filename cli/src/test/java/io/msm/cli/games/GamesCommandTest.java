package io.msm.cli.games;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.cli.source.DatapathView.GameSessionView;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class GamesCommandTest {
    @Test
    void showsBackendAndRebinding() throws Exception {
        Inet4Address c = (Inet4Address) InetAddress.getByName("198.51.100.7");
        var v =
                new GameSessionView(
                        "192.0.2.10:7777",
                        new GameSessionKey(0, GameSessionKey.KIND_KCP, 0x1234abcd, 0, 0, 0),
                        new GameSession(3, c, 41000, c, 42000, 1, 2, 10, 9, 1),
                        "10.1.0.2:7000");
        StringWriter w = new StringWriter();
        GamesCommand.table(new PrintWriter(w), List.of(v));
        String out = w.toString();
        assertTrue(out.contains("kcp conv 1234abcd"), out);
        assertTrue(out.contains("10.1.0.2:7000"), out);
        assertTrue(out.contains("198.51.100.7:42000 (first 198.51.100.7:41000)"), out);
        StringWriter e = new StringWriter();
        GamesCommand.table(new PrintWriter(e), List.of());
        assertTrue(e.toString().contains("no game sessions"));
    }
}
