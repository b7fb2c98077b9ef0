package io.msm.bpf;

import io.msm.bpf.btf.BtfStructs;
import io.msm.bpf.btf.LayoutAssert;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GroupInfo;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.RateLimitKey;
import io.msm.bpf.maps.RateLimitState;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.StructLayout;
import io.msm.bpf.maps.SubStats;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every Java mirror of a C struct has the size and member offsets the compiler gave the struct,
 * read from the object's BTF. A change on one side only fails here. (Reads a file: no root needed.)
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
                GroupStats.LAYOUT,
                SubStats.LAYOUT,
                GroupInfo.LAYOUT,
                DenyKey.LAYOUT,
                RateLimitKey.LAYOUT,
                RateLimitState.LAYOUT,
                Attachment.LAYOUT);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void javaMatchesC(StructLayout java) {
        LayoutAssert.matches(btf, java);
    }
}
