package io.msm.bench.fanout;

import io.msm.bench.classifier.ClassifierCost;
import io.msm.bpf.BpfObject;
import io.msm.bpf.btf.BtfStructs;
import io.msm.bpf.btf.LayoutAssert;
import io.msm.testkit.Testkit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's struct mirrors (BenchSink, ClassifierCost) have the layouts of
 * msm_testkit.bpf.o's BTF and the histogram its bucket counts. The receiver and histogram codecs
 * read only some members, so only the configuration codecs are held to using every member.
 */
class BenchLayoutMatchesBtfTest {
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
    void benchConfigMatchesC() {
        LayoutAssert.matches(btf, BenchSink.CFG);
        LayoutAssert.codecUsesEveryMember(BenchSink.CFG);
    }

    @Test
    void receiverCountersMatchC() {
        LayoutAssert.matches(btf, BenchSink.Rx.LAYOUT);
    }

    @Test
    void histogramsMatchC() {
        LayoutAssert.matches(btf, BenchSink.HIST_LAYOUT);
        LayoutAssert.codecUsesEveryMember(BenchSink.HIST_LAYOUT);
    }

    @Test
    void cloneFloorConfigMatchesC() {
        LayoutAssert.matches(btf, ClassifierCost.CLONE_FLOOR_CFG);
        LayoutAssert.codecUsesEveryMember(ClassifierCost.CLONE_FLOOR_CFG);
    }

    @Test
    void histogramBucketsMatchC() {
        LayoutAssert.constant(btf, "msm_bench_sizes", "MSM_BENCH_SUB_BITS", Histogram.SUB_BITS);
        LayoutAssert.constant(btf, "msm_bench_sizes", "MSM_BENCH_SUB", Histogram.SUB);
        LayoutAssert.constant(btf, "msm_bench_sizes", "MSM_BENCH_BUCKETS", Histogram.BUCKETS);
    }
}
