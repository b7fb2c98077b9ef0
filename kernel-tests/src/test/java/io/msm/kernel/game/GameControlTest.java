package io.msm.kernel.game;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.config.GameSettings;
import io.msm.agent.game.GameControl;
import io.msm.agent.game.GameTables;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameServiceKey;
import io.msm.bpf.maps.PortTable;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import java.net.Inet4Address;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's owner of the game tables on a real (unattached) datapath: F_GAME is set exactly while
 * a service exists, services an earlier agent left are removed once every source reported, and a
 * static service wins an address:port over the Gateway API's.
 */
@KernelTest
class GameControlTest {
    static final Inet4Address NODE = (Inet4Address) Packets.addr("192.0.2.10");
    Datapath dp;

    @BeforeEach
    void load() {
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024).withGroups(8).withSubIds(64));
        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
    }

    @AfterEach
    void close() {
        dp.close();
    }

    int flags() {
        return dp.config().lookup(0).orElseThrow().flags();
    }

    static GameTables.Service svc(String name, int port) {
        return new GameTables.Service(
                name,
                NODE,
                port,
                0,
                0,
                0,
                Duration.ofMinutes(2),
                List.of(
                        new GameTables.Backend(
                                (Inet4Address) Packets.addr("10.1.0.1"), 9000, 1, null)));
    }

    @Test
    void flagFollowsTheServicesAndStaleOnesGo() {
        GameServiceKey stale = new GameServiceKey(NODE, 6000);
        dp.gameServices().update(stale, new GameService(9, 0, 0, 0, 0));
        GameControl c =
                new GameControl(
                        dp,
                        GameSettings.defaults(),
                        Set.of(GameControl.STATIC, GameControl.GATEWAY),
                        () -> List.of(NODE));
        assertEquals(0, flags() & DatapathConfig.F_GAME, "off until a service exists");

        c.apply(GameControl.GATEWAY, List.of(svc("g/games/arena", 7777)));
        assertTrue((flags() & DatapathConfig.F_GAME) != 0);
        assertTrue(dp.gameServices().lookup(stale).isPresent(), "kept until every source spoke");

        // the config's service on the same address and port wins
        List<String> left = c.apply(GameControl.STATIC, List.of(svc("arena", 7777)));
        assertEquals(List.of("g/games/arena"), left);
        assertEquals(
                List.of("arena"), c.services().stream().map(GameTables.Service::name).toList());
        assertTrue(
                dp.gameServices().lookup(stale).isEmpty(), "the earlier agent's service removed");
        assertTrue(dp.gameServices().lookup(new GameServiceKey(NODE, 7777)).isPresent());

        c.apply(GameControl.STATIC, List.of());
        assertEquals(
                List.of("g/games/arena"),
                c.services().stream().map(GameTables.Service::name).toList(),
                "the Gateway's service takes the port back");
        c.apply(GameControl.GATEWAY, List.of());
        assertEquals(0, flags() & DatapathConfig.F_GAME, "off again with no service");
        assertTrue(dp.gameServices().keys().isEmpty());
    }
}
