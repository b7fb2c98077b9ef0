package io.msm.bench.game;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GameRaceTest {
    @Test
    void samplesAreNetworkSoftirqProxyIdleOrOther() {
        String script =
                String.join(
                        "\n",
                        // network softirq inside nginx's context: counted once, as net
                        "  4242 ",
                        "\t    ffffffff81a00001 bpf_prog_abc_msm_game_forward",
                        "\t    ffffffff81a00002 net_rx_action",
                        "\t    ffffffff81a00003 do_softirq",
                        "",
                        // nginx's own system call
                        "  4242 ",
                        "\t    ffffffff81b00001 udp_sendmsg",
                        "",
                        // idle
                        "     0 ",
                        "\t    ffffffff81c00001 default_idle",
                        "",
                        // another job (a user-space sample: no kernel chain)
                        " 31337 ",
                        // softirq in the idle task's context
                        "     0 ",
                        "\t    ffffffff81a00002 net_rx_action",
                        "");
        Cpu1Profile.Split s = Cpu1Profile.classify(script, Set.of(4242L, 4243L));
        assertEquals(new Cpu1Profile.Split(2, 1, 1, 1), s);
        assertEquals(3 * Cpu1Profile.PERIOD_NS / 1e9, s.forwardingS(), 1e-12);
    }

    @Test
    void nginxConfigKeysSessionsLikeMsmAndPinsOneWorker() {
        String c = GameRace.nginxConf(Path.of("/tmp/x"), 2, 1000);
        assertTrue(c.contains("worker_processes 1;"), c);
        assertTrue(c.contains("worker_cpu_affinity 10;"), c);
        assertTrue(c.contains("hash \"$remote_addr:$remote_port\" consistent;"), c);
        assertTrue(c.contains("server 10.80.0.2:9000;"), c);
        assertTrue(c.contains("server 10.80.0.6:9000;"), c);
        assertTrue(c.contains("listen 10.79.0.1:7777 udp reuseport;"), c);
        assertTrue(c.contains("pid /tmp/x/nginx.pid;"), c);
        assertFalse(c.contains("proxy_responses"), c);
    }
}
