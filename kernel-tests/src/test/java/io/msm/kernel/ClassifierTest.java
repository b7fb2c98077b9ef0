package io.msm.kernel;

import static io.msm.testkit.Packets.addr;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.BpfException;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.TrafficClass;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The TC classifier on crafted packets through BPF_PROG_TEST_RUN: each class, the parser's edge
 * cases, and that nothing is ever modified or dropped by the classifier itself.
 */
@KernelTest
class ClassifierTest {
    static final int TC_ACT_OK = 0;
    static Datapath dp;

    @BeforeAll
    static void load() {
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(4096));
        dp.configure(
                DatapathConfig.defaults(),
                PortTable.build(
                        PortTable.DEFAULT_CONTROL_TCP,
                        PortTable.DEFAULT_CONTROL_UDP,
                        List.of(new PortTable.Range(27015, 27030))));
    }

    @AfterAll
    static void close() {
        if (dp != null) {
            dp.close();
        }
    }

    @BeforeEach
    void clearFlows() {
        var flows = dp.flows();
        flows.keys().forEach(flows::delete);
    }

    static Packets.Builder udp4(int sport, int dport) {
        return Packets.builder().ip("10.1.0.1", "10.2.0.2").udp(sport, dport);
    }

    static Stream<Arguments> classes() {
        return Stream.of(
                Arguments.of(
                        "RTP",
                        udp4(5004, 6004).payload(Packets.rtp(1, 0, 1, 96, false, 100)),
                        TrafficClass.RTP),
                Arguments.of(
                        "RTP PCMU",
                        udp4(5004, 6004).payload(Packets.rtp(1, 0, 1, 0, false, 160)),
                        TrafficClass.RTP),
                Arguments.of(
                        "RTCP SR",
                        udp4(5005, 6005).payload(Packets.rtcpSenderReport(7)),
                        TrafficClass.RTCP),
                Arguments.of(
                        "STUN",
                        udp4(3478, 40000).payload(Packets.stunBindingRequest()),
                        TrafficClass.STUN),
                Arguments.of(
                        "DTLS",
                        udp4(40000, 40001).payload(Packets.dtlsHandshake()),
                        TrafficClass.DTLS),
                Arguments.of(
                        "game port range",
                        udp4(40000, 27016)
                                .payload(
                                        new byte[] {
                                            (byte) 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
                                        }),
                        TrafficClass.GAME),
                Arguments.of(
                        "RakNet ping",
                        udp4(40000, 19132).payload(Packets.raknetUnconnectedPing()),
                        TrafficClass.GAME),
                Arguments.of(
                        "RTSP over TCP",
                        Packets.builder()
                                .ip("10.1.0.1", "10.2.0.2")
                                .tcp(40000, 8554)
                                .payload("OPTIONS * RTSP/1.0\r\n".getBytes(UTF_8)),
                        TrafficClass.CONTROL),
                Arguments.of(
                        "RTSP reply (source port)",
                        Packets.builder().ip("10.1.0.1", "10.2.0.2").tcp(554, 40000),
                        TrafficClass.CONTROL),
                Arguments.of(
                        "SIP over UDP",
                        udp4(5060, 5060).payload("INVITE sip:a@b SIP/2.0\r\n".getBytes(UTF_8)),
                        TrafficClass.CONTROL),
                Arguments.of(
                        "other TCP",
                        Packets.builder().ip("10.1.0.1", "10.2.0.2").tcp(40000, 80),
                        TrafficClass.OTHER),
                Arguments.of(
                        "DNS",
                        udp4(40000, 53)
                                .payload(new byte[] {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}),
                        TrafficClass.OTHER),
                Arguments.of(
                        "RTP shorter than its header",
                        udp4(5004, 6004)
                                .payload(new byte[] {(byte) 0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0}),
                        TrafficClass.OTHER),
                Arguments.of("empty UDP", udp4(5004, 6004), TrafficClass.OTHER),
                Arguments.of(
                        "RTP over IPv6",
                        Packets.builder()
                                .ip("2001:db8::1", "2001:db8::2")
                                .udp(5004, 6004)
                                .payload(Packets.rtp(9, 0, 3, 96, false, 50)),
                        TrafficClass.RTP),
                Arguments.of(
                        "RTP in a VLAN",
                        udp4(5004, 6004).vlan(42).payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        TrafficClass.RTP),
                Arguments.of(
                        "RTP in QinQ",
                        udp4(5004, 6004).vlan(42, 43).payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        TrafficClass.RTP),
                Arguments.of(
                        "RTP with IP options",
                        udp4(5004, 6004)
                                .ipOptions(new byte[] {1, 1, 1, 0})
                                .payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        TrafficClass.RTP),
                Arguments.of(
                        "RTP, first fragment",
                        udp4(5004, 6004)
                                .fragment(0, true)
                                .payload(Packets.rtp(1, 0, 1, 96, false, 64)),
                        TrafficClass.RTP),
                Arguments.of(
                        "RTP without UDP checksum",
                        udp4(5004, 6004)
                                .noUdpChecksum()
                                .payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        TrafficClass.RTP),
                Arguments.of(
                        "TCP with options",
                        Packets.builder()
                                .ip("10.1.0.1", "10.2.0.2")
                                .tcp(40000, 554)
                                .tcpOptions(new byte[] {2, 4, 5, (byte) 0xb4, 1, 1, 4, 2}),
                        TrafficClass.CONTROL));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("classes")
    void classifies(String name, Packets.Builder packet, TrafficClass expected) {
        byte[] in = packet.build();
        Counters before = dp.totals();
        ProgTestRun.Result r = ProgTestRun.run(dp.progFd(Datapath.PROG_TC), in);
        Counters after = dp.totals();

        assertEquals(
                TC_ACT_OK,
                r.retval(),
                "the classifier passes every packet without a fan-out group");
        assertArrayEquals(in, r.packet(), "the classifier does not modify packets");
        assertEquals(
                1,
                after.packets(expected) - before.packets(expected),
                "class counter of " + expected);
        assertEquals(
                in.length,
                after.bytes(expected) - before.bytes(expected),
                "class bytes of " + expected);
        var flows = dp.flows().entries();
        assertEquals(1, flows.size(), "one flow recorded");
        Flow f = flows.get(0).getValue();
        assertEquals(expected, f.trafficClass());
        assertEquals(1, f.packets());
        assertEquals(in.length, f.bytes());
        assertTrue(f.firstNs() > 0 && f.lastNs() >= f.firstNs());
    }

    static Stream<Arguments> passedUntouched() {
        return Stream.of(
                Arguments.of(
                        "ARP",
                        Packets.builder().etherType(Packets.ETH_P_ARP).payload(new byte[28]),
                        Stat.NOT_IP),
                Arguments.of(
                        "IPv4 total length beyond the frame",
                        Packets.builder()
                                .etherType(Packets.ETH_P_IP)
                                .payload(
                                        new byte[] {
                                            0x45,
                                            0,
                                            0x03,
                                            (byte) 0xe8,
                                            0,
                                            0,
                                            0,
                                            0,
                                            64,
                                            17,
                                            0,
                                            0,
                                            10,
                                            1,
                                            0,
                                            1,
                                            10,
                                            2,
                                            0,
                                            2,
                                            0x13,
                                            (byte) 0x8c,
                                            0x17,
                                            0x74,
                                            0,
                                            8,
                                            0,
                                            0
                                        }),
                        Stat.MALFORMED),
                Arguments.of(
                        "IPv6 payload length beyond the frame",
                        Packets.builder()
                                                .ip("2001:db8::1", "2001:db8::2")
                                                .udp(5004, 6004)
                                                .payload(Packets.rtp(1, 0, 1, 96, false, 4))
                                                .build()
                                                .length
                                        > 0
                                ? ipv6Truncated()
                                : null,
                        Stat.MALFORMED),
                Arguments.of(
                        "UDP length shorter than its header",
                        udp4(5004, 6004).udpLength(7).payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        Stat.MALFORMED),
                Arguments.of(
                        "UDP length beyond the IP datagram",
                        udp4(5004, 6004)
                                .udpLength(900)
                                .payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        Stat.MALFORMED),
                Arguments.of(
                        "IHL below 5",
                        udp4(5004, 6004).ihl(4).payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        Stat.MALFORMED),
                Arguments.of("IHL beyond the packet", udp4(5004, 6004).ihl(15), Stat.MALFORMED),
                Arguments.of(
                        "non-first fragment",
                        udp4(5004, 6004)
                                .fragment(185, false)
                                .payload(Packets.rtp(1, 0, 1, 96, false, 20)),
                        Stat.FRAGMENT),
                Arguments.of(
                        "ICMP",
                        Packets.builder().ip("10.1.0.1", "10.2.0.2").proto(1).payload(new byte[8]),
                        Stat.NOT_IP));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("passedUntouched")
    void passesWhatItDoesNotUnderstand(String name, Packets.Builder packet, Stat counted) {
        byte[] in = packet.build();
        long before = dp.totals().get(counted);
        ProgTestRun.Result r = ProgTestRun.run(dp.progFd(Datapath.PROG_TC), in);
        assertEquals(TC_ACT_OK, r.retval());
        assertArrayEquals(in, r.packet());
        assertEquals(1, dp.totals().get(counted) - before, "counted as " + counted);
        assertEquals(0, dp.flows().count(), "no flow for a packet not understood");
    }

    @Test
    void truncatedFramesOfEveryLengthPassUntouched() {
        byte[] full = udp4(5004, 6004).payload(Packets.rtp(1, 0, 1, 96, false, 40)).build();
        int ran = 0;
        for (int len = 1; len < full.length; len++) {
            byte[] in = Arrays.copyOf(full, len);
            if (len <= 14) {
                continue; // the kernel refuses test runs of an Ethernet header alone
            }
            ProgTestRun.Result r;
            try {
                r = ProgTestRun.run(dp.progFd(Datapath.PROG_TC), in);
            } catch (BpfException e) {
                // newer kernels refuse test runs whose L3 header is incomplete
                assertTrue(
                        len < 14 + 20,
                        "the kernel refused a " + len + "-byte frame: " + e.getMessage());
                continue;
            }
            ran++;
            assertEquals(TC_ACT_OK, r.retval(), "length " + len);
            assertArrayEquals(in, r.packet(), "length " + len);
        }
        assertTrue(
                ran >= full.length - 35, "truncations from the IP header on were all run: " + ran);
    }

    /** An IPv6/UDP frame whose payload length claims 400 bytes more than it has. */
    static Packets.Builder ipv6Truncated() {
        byte[] f =
                Packets.builder()
                        .ip("2001:db8::1", "2001:db8::2")
                        .udp(5004, 6004)
                        .payload(Packets.rtp(1, 0, 1, 96, false, 4))
                        .build();
        int plen = ((f[18] & 0xff) << 8 | (f[19] & 0xff)) + 400;
        f[18] = (byte) (plen >> 8);
        f[19] = (byte) plen;
        byte[] l3 = Arrays.copyOfRange(f, 14, f.length);
        return Packets.builder().etherType(Packets.ETH_P_IPV6).payload(l3);
    }

    @Test
    void flowKeyMatchesThePacket() {
        byte[] in = udp4(5004, 6004).payload(Packets.rtp(1, 0, 1, 96, false, 10)).build();
        ProgTestRun.run(dp.progFd(Datapath.PROG_TC), in);
        FlowKey k = FlowKey.udp(addr("10.1.0.1"), 5004, addr("10.2.0.2"), 6004);
        Optional<Flow> f = dp.flows().lookup(k);
        assertTrue(f.isPresent(), "flow keyed by its 5-tuple: " + dp.flows().keys());
    }

    @Test
    void controlPortsComeFromThePortTable() {
        int[] ports = PortTable.build(List.of(9000), List.of(), List.of());
        dp.writePorts(ports);
        try {
            byte[] rtsp = Packets.builder().ip("10.1.0.1", "10.2.0.2").tcp(40000, 9000).build();
            byte[] old = Packets.builder().ip("10.1.0.1", "10.2.0.2").tcp(40001, 8554).build();
            long c0 = dp.totals().packets(TrafficClass.CONTROL);
            ProgTestRun.run(dp.progFd(Datapath.PROG_TC), rtsp);
            ProgTestRun.run(dp.progFd(Datapath.PROG_TC), old);
            assertEquals(
                    1,
                    dp.totals().packets(TrafficClass.CONTROL) - c0,
                    "9000 is control now, 8554 no longer");
        } finally {
            dp.writePorts(
                    PortTable.build(
                            PortTable.DEFAULT_CONTROL_TCP,
                            PortTable.DEFAULT_CONTROL_UDP,
                            List.of(new PortTable.Range(27015, 27030))));
        }
    }
}
