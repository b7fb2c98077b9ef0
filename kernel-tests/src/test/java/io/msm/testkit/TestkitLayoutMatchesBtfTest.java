package io.msm.testkit;

import io.msm.bpf.BpfObject;
import io.msm.bpf.btf.BtfStructs;
import io.msm.bpf.btf.LayoutAssert;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The testkit's struct mirrors have the layouts of msm_testkit.bpf.o's BTF, their codecs take every
 * offset from them, and the capture size matches. (Reads a file: no root needed.)
 */
class TestkitLayoutMatchesBtfTest {
    static BtfStructs btf;

    @BeforeAll
    static void parse() {
        btf = BtfStructs.parse("msm_testkit", BpfObject.resource(Testkit.RESOURCE));
    }

    @AfterAll
    static void close() {
        btf.close();
    }

    @Test
    void captureRecordMatchesC() {
        LayoutAssert.matches(btf, Testkit.CAPTURE_REC);
        LayoutAssert.codecUsesEveryMember(Testkit.CAPTURE_REC);
    }

    @Test
    void sinkStatsMatchC() {
        LayoutAssert.matches(btf, Testkit.SINK_STATS);
        LayoutAssert.codecUsesEveryMember(Testkit.SINK_STATS);
    }

    @Test
    void captureSizeMatchesC() {
        LayoutAssert.constant(btf, "msm_capture", "MSM_CAPTURE_BYTES", Testkit.CAPTURE_BYTES);
        // the bench's enum in the same object is checked by bench's BenchLayoutMatchesBtfTest
        LayoutAssert.everyEnumeratorMirrored(
                btf,
                Set.of("MSM_CAPTURE_BYTES"),
                Set.of(
                        "MSM_BENCH_MAX_RX",
                        "MSM_BENCH_SLOTS",
                        "MSM_BENCH_SUB_BITS",
                        "MSM_BENCH_SUB",
                        "MSM_BENCH_BUCKETS"));
    }
}
