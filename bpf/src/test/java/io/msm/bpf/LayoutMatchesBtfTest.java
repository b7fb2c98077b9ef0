package io.msm.bpf;

import io.msm.bpf.btf.BtfStructs;
import io.msm.bpf.btf.LayoutAssert;
import io.msm.bpf.maps.Addr;
import io.msm.bpf.maps.AllowKey;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GameBackend;
import io.msm.bpf.maps.GameBackendStats;
import io.msm.bpf.maps.GameRev;
import io.msm.bpf.maps.GameRevKey;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameServiceKey;
import io.msm.bpf.maps.GameServiceStats;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.bpf.maps.GameTokenKey;
import io.msm.bpf.maps.GroupInfo;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.IdentityKey;
import io.msm.bpf.maps.IdentityName;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.RateLimitKey;
import io.msm.bpf.maps.RateLimitState;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.SourceIdentity;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.StructLayout;
import io.msm.bpf.maps.SubStats;
import io.msm.bpf.maps.TrafficClass;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java side of msm_shared.h against the compiled object's BTF (reads a file: no root needed).
 * Every Java mirror of a C struct has the size, and member offsets and sizes, the compiler gave the
 * struct; its codec takes every offset from that layout; and every constant both sides share (the
 * layout version, classes, stats, flags, limits, default map sizes) has the value of its C
 * enumerator. A change on one side only fails here.
 */
class LayoutMatchesBtfTest {
    static BtfStructs btf;

    @BeforeAll
    static void parse() {
        btf = BtfStructs.parse("msm", Datapath.objectBytes());
    }

    @AfterAll
    static void close() {
        btf.close();
    }

    static Stream<StructLayout> layouts() {
        return Stream.of(
                FlowKey.LAYOUT,
                Flow.LAYOUT,
                RtpStats.LAYOUT,
                Counters.LAYOUT,
                DatapathConfig.LAYOUT,
                Meta.LAYOUT,
                FanoutKey.LAYOUT,
                FanoutSub.LAYOUT,
                FanoutGroup.LAYOUT,
                RewriteState.LAYOUT,
                GroupStats.LAYOUT,
                SubStats.LAYOUT,
                GroupInfo.LAYOUT,
                DenyKey.LAYOUT,
                RateLimitKey.LAYOUT,
                RateLimitState.LAYOUT,
                Attachment.LAYOUT,
                IdentityKey.LAYOUT,
                SourceIdentity.LAYOUT,
                IdentityName.LAYOUT,
                AllowKey.LAYOUT,
                GameServiceKey.LAYOUT,
                GameService.LAYOUT,
                GameBackend.LAYOUT,
                GameSessionKey.LAYOUT,
                GameSession.LAYOUT,
                GameTokenKey.LAYOUT,
                GameBackendStats.LAYOUT,
                GameServiceStats.LAYOUT,
                GameRevKey.LAYOUT,
                GameRev.LAYOUT);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void javaMatchesC(StructLayout java) {
        LayoutAssert.matches(btf, java);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void codecTakesEveryOffsetFromTheLayout(StructLayout java) {
        LayoutAssert.codecUsesEveryMember(java);
    }

    /** A constant both sides share: C enumerator of enum cEnum, and the Java value. */
    record Shared(String cEnum, String enumerator, long java) {
        @Override
        public String toString() {
            return enumerator;
        }
    }

    static Stream<Shared> constants() {
        DatapathSpec d = DatapathSpec.DEFAULT;
        List<Shared> fixed =
                List.of(
                        new Shared("msm_identity", "MSM_LAYOUT_VERSION", Meta.LAYOUT_VERSION),
                        new Shared("msm_identity", "MSM_META_MAGIC", Meta.MAGIC),
                        new Shared("msm_class", "MSM_CLASS_MAX", TrafficClass.SLOTS),
                        new Shared("msm_stat", "MSM_STAT_MAX", Stat.SLOTS),
                        new Shared("msm_family", "MSM_FAMILY_IPV4", Addr.FAMILY_IPV4),
                        new Shared("msm_family", "MSM_FAMILY_IPV6", Addr.FAMILY_IPV6),
                        new Shared("msm_rtp_flags", "MSM_RTP_F_INIT", RtpStats.F_INIT),
                        new Shared("msm_rtp_flags", "MSM_RTP_F_TRANSIT", RtpStats.F_TRANSIT),
                        new Shared("msm_flow_flags", "MSM_FLOW_F_FANOUT", Flow.F_FANOUT),
                        new Shared("msm_sizes", "MSM_NUM_PT", DatapathConfig.NUM_PT),
                        new Shared("msm_sizes", "MSM_NUM_PORTS", PortTable.SIZE),
                        new Shared(
                                "msm_port_flags",
                                "MSM_PORT_F_CONTROL_TCP",
                                PortTable.F_CONTROL_TCP),
                        new Shared(
                                "msm_port_flags",
                                "MSM_PORT_F_CONTROL_UDP",
                                PortTable.F_CONTROL_UDP),
                        new Shared("msm_port_flags", "MSM_PORT_F_GAME_UDP", PortTable.F_GAME_UDP),
                        new Shared("msm_cfg_flags", "MSM_CFG_F_FLOWS", DatapathConfig.F_FLOWS),
                        new Shared("msm_cfg_flags", "MSM_CFG_F_FANOUT", DatapathConfig.F_FANOUT),
                        new Shared("msm_cfg_flags", "MSM_CFG_F_RAKNET", DatapathConfig.F_RAKNET),
                        new Shared("msm_fanout_limits", "MSM_MAX_SUBS", FanoutGroup.MAX_SUBS),
                        new Shared("msm_sub_flags", "MSM_SUB_F_INGRESS", FanoutSub.F_INGRESS),
                        new Shared("msm_group_flags", "MSM_GROUP_F_LOCAL", FanoutGroup.F_LOCAL),
                        new Shared("msm_group_flags", "MSM_GROUP_F_STRICT", FanoutGroup.F_STRICT),
                        new Shared(
                                "msm_group_flags",
                                "MSM_GROUP_F_PASS_OTHERS",
                                FanoutGroup.F_PASS_OTHERS),
                        new Shared(
                                "msm_group_flags", "MSM_GROUP_F_IDENTITY", FanoutGroup.F_IDENTITY),
                        new Shared("msm_group_flags", "MSM_GROUP_F_REWRITE", FanoutGroup.F_REWRITE),
                        new Shared("msm_identities", "MSM_IDENTITY_WORLD", SourceIdentity.WORLD),
                        new Shared("msm_marks", "MSM_MARK_INJECTED", FanoutGroup.MARK_INJECTED),
                        new Shared(
                                "msm_identities", "MSM_IDENTITY_NAME_LEN", SourceIdentity.NAME_LEN),
                        new Shared("msm_label", "MSM_LABEL_LEN", GroupInfo.LABEL_LEN),
                        new Shared("msm_attach_flags", "MSM_ATTACH_F_TC", Attachment.F_TC),
                        new Shared(
                                "msm_attach_flags", "MSM_ATTACH_F_TC_QDISC", Attachment.F_TC_QDISC),
                        new Shared("msm_attach_flags", "MSM_ATTACH_F_XDP", Attachment.F_XDP),
                        new Shared(
                                "msm_attach_flags",
                                "MSM_ATTACH_F_XDP_GENERIC",
                                Attachment.F_XDP_GENERIC),
                        new Shared("msm_map_defaults", "MSM_DEFAULT_FLOWS", d.flows()),
                        new Shared("msm_map_defaults", "MSM_DEFAULT_GROUPS", d.groups()),
                        new Shared("msm_map_defaults", "MSM_DEFAULT_SUB_IDS", d.subIds()),
                        new Shared("msm_map_defaults", "MSM_DEFAULT_DENY", d.deny()),
                        new Shared("msm_map_defaults", "MSM_DEFAULT_RATELIMIT", d.rateLimit()),
                        new Shared("msm_map_defaults", "MSM_DEFAULT_IDENTITIES", d.identities()),
                        new Shared(
                                "msm_map_defaults",
                                "MSM_DEFAULT_IDENTITY_NAMES",
                                d.identityNames()),
                        new Shared("msm_map_defaults", "MSM_DEFAULT_GROUP_ALLOW", d.groupAllow()),
                        new Shared("msm_cfg_flags", "MSM_CFG_F_GAME", DatapathConfig.F_GAME),
                        new Shared(
                                "msm_game_limits", "MSM_GAME_MAGLEV_SIZE", GameService.MAGLEV_SIZE),
                        new Shared(
                                "msm_game_limits",
                                "MSM_GAME_MAX_SERVICES",
                                GameService.MAX_SERVICES),
                        new Shared(
                                "msm_game_limits",
                                "MSM_GAME_MAX_BACKENDS",
                                GameService.MAX_BACKENDS),
                        new Shared("msm_game_limits", "MSM_GAME_TOKEN_MAX", GameService.TOKEN_MAX),
                        new Shared(
                                "msm_game_limits",
                                "MSM_GAME_NO_BACKEND",
                                GameService.NO_BACKEND & 0xffffffffL),
                        new Shared("msm_game_svc_flags", "MSM_GAME_F_KCP", GameService.F_KCP),
                        new Shared("msm_game_svc_flags", "MSM_GAME_F_TOKEN", GameService.F_TOKEN),
                        new Shared("msm_game_svc_flags", "MSM_GAME_F_RAKNET", GameService.F_RAKNET),
                        new Shared(
                                "msm_game_key_kind",
                                "MSM_GAME_KEY_RAKNET",
                                GameSessionKey.KIND_RAKNET),
                        new Shared(
                                "msm_game_rebind", "MSM_GAME_REBIND_PORT", GameService.REBIND_PORT),
                        new Shared(
                                "msm_game_rebind",
                                "MSM_GAME_REBIND_PREFIX",
                                GameService.REBIND_PREFIX),
                        new Shared(
                                "msm_game_rebind", "MSM_GAME_REBIND_ANY", GameService.REBIND_ANY),
                        new Shared(
                                "msm_game_rebind", "MSM_GAME_REBIND_NONE", GameService.REBIND_NONE),
                        new Shared("msm_game_be_flags", "MSM_GAME_BE_F_LIVE", GameBackend.F_LIVE),
                        new Shared(
                                "msm_game_be_flags",
                                "MSM_GAME_BE_F_DRAINING",
                                GameBackend.F_DRAINING),
                        new Shared(
                                "msm_game_key_kind", "MSM_GAME_KEY_ADDR", GameSessionKey.KIND_ADDR),
                        new Shared(
                                "msm_game_key_kind", "MSM_GAME_KEY_KCP", GameSessionKey.KIND_KCP),
                        new Shared(
                                "msm_game_key_kind",
                                "MSM_GAME_KEY_TOKEN",
                                GameSessionKey.KIND_TOKEN),
                        new Shared(
                                "msm_game_map_defaults",
                                "MSM_DEFAULT_GAME_SERVICES",
                                GameService.DEFAULT_SERVICES),
                        new Shared(
                                "msm_game_map_defaults",
                                "MSM_DEFAULT_GAME_SESSIONS",
                                GameService.DEFAULT_SESSIONS),
                        new Shared(
                                "msm_game_map_defaults",
                                "MSM_DEFAULT_GAME_TOKENS",
                                GameService.DEFAULT_TOKENS));
        // the Java enums name the C enumerators: TrafficClass.RTP is MSM_CLASS_RTP, Stat.XDP_DENY
        // MSM_STAT_XDP_DENY
        Stream<Shared> classes =
                Arrays.stream(TrafficClass.values())
                        .map(c -> new Shared("msm_class", "MSM_CLASS_" + c.name(), c.id()));
        Stream<Shared> stats =
                Arrays.stream(Stat.values())
                        .map(s -> new Shared("msm_stat", "MSM_STAT_" + s.name(), s.id()));
        return Stream.of(fixed.stream(), classes, stats).flatMap(s -> s);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("constants")
    void javaConstantMatchesC(Shared c) {
        LayoutAssert.constant(btf, c.cEnum(), c.enumerator(), c.java());
    }

    @Test
    void everyConstantOfTheObjectHasAJavaMirror() {
        Set<String> mirrored = constants().map(Shared::enumerator).collect(Collectors.toSet());
        LayoutAssert.everyEnumeratorMirrored(btf, mirrored, Set.of());
    }
}
