package io.msm.agent.game;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.msm.agent.game.GameTables.Rebind;
import io.msm.bpf.maps.GameService;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class GameTablesServiceTest {
    @Test
    void rebindingDefaultsToTheSameIpAndParsesAsConfigSpellsIt() throws Exception {
        Inet4Address a = (Inet4Address) InetAddress.getByName("10.0.0.1");
        GameTables.Service s =
                new GameTables.Service(
                        "g", a, 7777, GameService.F_KCP, 20, 0, Duration.ZERO, List.of());
        assertEquals(Rebind.PORT, s.rebind());
        assertEquals(0, s.rebindConfirm());
        assertEquals(
                Rebind.PORT,
                new GameTables.Service("g", a, 1, 0, 0, 0, null, List.of(), null, 0).rebind());
        assertEquals(Rebind.PREFIX, Rebind.parse("prefix"));
        assertEquals(Rebind.ANY, Rebind.parse(" ANY "));
        assertEquals(GameService.REBIND_NONE, Rebind.parse("none").kernel());
        assertThrows(IllegalArgumentException.class, () -> Rebind.parse("nat"));
        assertThrows(
                IllegalArgumentException.class,
                () -> new GameTables.Service("g", a, 1, 0, 0, 0, null, List.of(), Rebind.ANY, -1));
    }
}
